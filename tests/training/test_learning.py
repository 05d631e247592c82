"""Learning tests: the real configs, three seeds in one vmapped program, asserting the return
every seed reaches (a random policy scores about -1200 on Pendulum).

Each runs as a user runs it, ``python -m experiments.run``, in its own process compiled at XLA's
default optimisation level: these two runs are the suite's only long computations, and the
lowest backend level the rest of the suite compiles at (tests/conftest.py) would slow their
updates by half (measured: 107 s -> 189 s for SAC on the 2-core dev VM, 2026-12-06)."""
import json
import os
import subprocess
import sys

import pytest

from experiments.configs import get_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _final_records(config: str, workdir, seeds: int = 3) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run([sys.executable, "-m", "experiments.run", f"--config={config}", f"--seeds={seeds}",
                           f"--workdir={workdir}", "--no-progress"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    last = records[-1]["env_steps"]
    return [r for r in records if r["env_steps"] == last]


@pytest.mark.slow
def test_pendulum_sac_learns_on_every_seed(tmp_path):
    assert get_config("pendulum_sac").total_env_steps == 20_000
    final = _final_records("pendulum_sac", tmp_path / "run")
    assert final[0]["env_steps"] == 20_000
    assert [r["seed"] for r in final] == [0, 1, 2]
    assert all(r["eval_return"] >= -250 for r in final), final


@pytest.mark.slow
def test_pendulum_td3_learns_on_every_seed(tmp_path):
    assert get_config("pendulum_td3").total_env_steps == 30_000
    final = _final_records("pendulum_td3", tmp_path / "run")
    assert final[0]["env_steps"] == 30_000
    assert [r["seed"] for r in final] == [0, 1, 2]
    assert all(r["eval_return"] >= -250 for r in final), final
