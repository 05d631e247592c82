"""A tiny DrQ run from pixels (dm_control rendered on the host, frame replay, frame stacks)
through the runner. The run is the golden 'pixels' case (the same config, checked here), run
once for this module and the golden test (conftest.case_run, one xdist group)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import imageio.v3 as iio

from experiments import video
from golden.cases import CASES, config as case_config
from largerl_jax.training import make_driver, validate
from largerl_jax.training.runner import estimate_memory

pytestmark = pytest.mark.xdist_group("golden")


def _tiny():
    """The golden 'pixels' case: pixels_dmc_cartpole_swingup_mlp2 at 16 units, batch 8, 30-step
    episodes (60 simulator steps, so training episodes end and restart their stacks), 200 env
    steps, replay 300, with the reference's log-std clip, init and eps pinned (golden.cases)."""
    cfg = case_config("pixels")
    assert (cfg.agent.actor.width, cfg.agent.batch_size, cfg.env.episode_length, cfg.total_env_steps,
            cfg.replay_capacity) == (16, 8, 60, 200, 300)
    return cfg


def test_tiny_pixel_run(tmp_path, case_run):
    cfg = _tiny()
    assert CASES["pixels"][2] == 1  # 1 seed
    records, workdir = case_run("pixels")
    assert [r["env_steps"] for r in records] == [100, 200]
    last = records[-1]
    assert last["grad_steps"] == 100
    for k in ("critic_loss", "actor_loss", "alpha_loss", "q_mean", "train_return"):
        assert np.isfinite(last[k]), k
    assert last["actor_grad_norm"] > 0 and last["critic_grad_norm"] > 0
    # 30 agent steps, at most 1 reward per simulator step, 2 simulator steps each
    assert all(0.0 <= r["eval_return"] <= 60.0 for r in records)
    assert "sv/critic/encoder/head/dense" in last and not any("conv" in k for k in last)
    # the frame replay's rows, as the run's memory report gives them: one 84x84x3 frame, the
    # action, the reward and four flag bytes
    driver = make_driver(cfg, [cfg.seed])
    try:
        report, _ = estimate_memory(cfg, driver, jax.ShapeDtypeStruct((1, 2), jnp.uint32))
    finally:
        driver.close()
    assert "300 rows x 21180 B" in report
    # the trained policy, acting on its frame stacks, rendered by experiments.video
    out = tmp_path / "policy.gif"
    assert video.main([f"--workdir={workdir}", f"--out={out}", "--max-steps=6", "--width=48", "--height=48"]) == 0
    frames = iio.imread(out)
    assert frames.shape[1:3] == (48, 48) and len(frames) >= 3
    assert frames[0].std() > 5 and np.abs(frames[-1].astype(int) - frames[0]).mean() > 0


def test_pixels_refuse_prioritized_replay_and_mismatched_agents():
    cfg = _tiny()
    cfg.prioritized_replay.enabled = True
    with pytest.raises(ValueError, match="prioritized_replay"):
        validate(cfg)
    cfg = _tiny()
    cfg.agent.name = "sac"
    with pytest.raises(ValueError, match="sac_pixels"):
        validate(cfg)
