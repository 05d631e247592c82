"""A pruned run (XiNet SAC v1 + OFEXiNet) through the runner: it shrinks its arrays mid-way and at
the end, recompiles, records alive units and parameter counts, and resumes from a checkpoint
taken after a shrink exactly as if never interrupted. The uninterrupted run is the golden
'xinet_shrink' case (the same config, checked here), run once for this module and the golden
test (conftest.case_run, one xdist group)."""
import json
import os

import numpy as np
import pytest

from golden.cases import CASES, config as case_config
from largerl_jax.training import run
from largerl_jax.pruning.run_hook import META_KEY, shrink_points

from test_runner import _assert_records_close

pytestmark = pytest.mark.xdist_group("golden")


def _pruned(tiny_pendulum):
    cfg = tiny_pendulum("sac_v1")
    cfg.agent.features = "ofenet"
    cfg.agent.ofenet.num_layers = 2
    cfg.agent.ofenet.units = 8
    cfg.agent.ofenet.batch_size = cfg.agent.batch_size
    cfg.agent.ofenet.pretrain_updates = 20
    cfg.agent.ofenet.passthrough = "diagonal"
    cfg.agent.ofenet.use_target = False
    p = cfg.agent.pruning
    p.enabled = True
    p.warmup_updates = 20
    p.rl_lambda = p.ofe_lambda = 3e-2  # strong, so that units die within a few hundred updates
    p.pi_lr = 0.02
    p.shrinks = 2
    # as the golden case pins it: the reference's rounding, one update after the one the library
    # now derives (tests/pruning/test_run_hook.py checks the derived one)
    p.round_update = 440
    cfg.checkpoint_every_env_steps = 400
    return cfg


def test_pruned_run_shrinks_and_resumes_after_a_shrink(tiny_pendulum, tmp_path, capsys, case_run):
    cfg = _pruned(tiny_pendulum)
    # warm-up 400, rounding at 0.8 x 1600 = 1280: shrinks after 840 and 1280, and at the end
    assert shrink_points(cfg) == [840, 1280]
    assert case_config("xinet_shrink").to_dict() == cfg.to_dict() and CASES["xinet_shrink"][2] == 2  # 2 seeds
    full, full_dir = case_run("xinet_shrink")
    final = [r for r in full if r["env_steps"] == 1600]
    assert all(r["params/train"] < 0.9 * full[0]["params/train"] for r in final)  # pruning happened
    assert all("gates/actor/0/alive" in r and "gates/phi_s/1/pi_mean" in r for r in final)
    checkpoints = os.path.join(full_dir, "checkpoints")
    meta = json.load(open(os.path.join(checkpoints, str(max(int(d) for d in os.listdir(checkpoints) if d.isdigit())), "meta", "metadata")))
    widths = meta[META_KEY]
    assert widths["actor.widths"][0] < 16 or widths["ofenet.widths"][0] < 8  # arrays really shrank

    from experiments.inspect import main as inspect_main

    assert inspect_main([f"--workdir={full_dir}"]) == 0
    printed = capsys.readouterr().out
    assert f"train {final[0]['params/train']:,.0f}" in printed and "seed 1" in printed

    part = tmp_path / "part"
    first = run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=1200)
    assert first[-1]["env_steps"] == 1200  # its last checkpoint, at 1200, holds the state shrunk at 840
    meta = json.load(open(part / "checkpoints" / "1200" / "meta" / "metadata"))
    assert META_KEY in meta
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    _assert_records_close(full, resumed, rtol=1e-5, atol=1e-5)
    assert np.isfinite([r["eval_return"] for r in resumed]).all()
