"""The per-op profile joins trace events with HLO metadata: checked on a tiny program whose
named scopes are known, in a fresh process (XLA's dump flags are read at start-up)."""
import json
import subprocess
import sys

import pytest

from benchmarks import iteration_profile, op_profile

SNIPPET = r"""
import json, sys
import jax, jax.numpy as jnp
from benchmarks import op_profile

def work(x):
    with jax.named_scope("big"):
        y = (x @ x) @ x
    with jax.named_scope("small"):
        z = jnp.sin(x[:4]).sum()
    return y.sum() + z

f = jax.jit(work)
x = jnp.ones((384, 384))
f(x).block_until_ready()
jax.profiler.start_trace(sys.argv[1])
for _ in range(3):
    f(x).block_until_ready()
jax.profiler.stop_trace()
print(json.dumps(op_profile.op_table(sys.argv[1], sys.argv[2], "jit_work", (("big", ("big",)), ("small", ("small",))), per=3)))
"""


def test_op_table_attributes_time_to_named_scopes(tmp_path):
    trace, dump = tmp_path / "trace", tmp_path / "hlo"
    env = {"XLA_FLAGS": op_profile.xla_dump_flags(str(dump)), "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    proc = subprocess.run([sys.executable, "-c", SNIPPET, str(trace), str(dump)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads(proc.stdout.strip().splitlines()[-1])
    ms = table["thread_ms"]
    # Two 384^3 matmuls against a sine of 4 rows: the matmuls' scope must hold nearly all the time.
    assert ms["big"] > 0
    assert ms["big"] > 5 * ms.get("small", 0.0)
    assert table["share"]["big"] > 0.8
    assert table["top_ops"][0]["category"] == "big"


def test_categorize_rules_in_order_and_conjunctions():
    rules = (("act", (("act_env", "MLP"),)), ("env", ("act_env",)), ("update", ("MLP",)))
    assert op_profile.categorize("x/act_env/MLP_0/dot", rules) == "act"
    assert op_profile.categorize("x/act_env/pipeline/add", rules) == "env"
    assert op_profile.categorize("x/while/MLP_1/dot", rules) == "update"
    assert op_profile.categorize("x/other", rules) == "other"


def test_regimes_parse_and_refuse_bad_input():
    assert iteration_profile.parse_regime("64x8") == (64, 8, 256)
    assert iteration_profile.parse_regime("1024x2b8192") == (1024, 2, 8192)
    for bad in ("64", "0x1", "axb", "64x8b"):
        with pytest.raises(ValueError):
            iteration_profile.parse_regime(bad)
