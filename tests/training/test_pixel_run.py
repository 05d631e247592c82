"""A tiny DrQ run from pixels (dm_control rendered on the host, frame replay, frame stacks)
through the runner."""
import numpy as np
import pytest

import imageio.v3 as iio

from experiments import video
from experiments.configs import get_config
from largerl_jax.training import run, validate


def _tiny():
    cfg = get_config("pixels_dmc_cartpole_swingup_mlp2")
    for net in ("actor", "critic"):
        cfg.agent[net].width = 16
    cfg.agent.batch_size = 16
    # 60 simulator steps: 30-step episodes, so training episodes end and restart their stacks
    cfg.env.eval_episodes, cfg.env.episode_length = 1, 60
    cfg.total_env_steps, cfg.warmup_env_steps = 200, 100
    cfg.log_every_env_steps = cfg.eval_every_env_steps = 100
    cfg.checkpoint_every_env_steps = 200
    cfg.replay_capacity = 300
    return cfg


def test_tiny_pixel_run(tmp_path, capsys):
    records = run(_tiny(), workdir=str(tmp_path), num_seeds=1, progress=True)
    assert [r["env_steps"] for r in records] == [100, 200]
    last = records[-1]
    assert last["grad_steps"] == 100
    for k in ("critic_loss", "actor_loss", "alpha_loss", "q_mean", "train_return"):
        assert np.isfinite(last[k]), k
    assert last["actor_grad_norm"] > 0 and last["critic_grad_norm"] > 0
    # 30 agent steps, at most 1 reward per simulator step, 2 simulator steps each
    assert all(0.0 <= r["eval_return"] <= 60.0 for r in records)
    assert "sv/critic/encoder/head/dense" in last and not any("conv" in k for k in last)
    # the frame replay's rows: one 84x84x3 frame, the action, the reward and four flag bytes
    assert "300 rows x 21180 B" in capsys.readouterr().err
    # the trained policy, acting on its frame stacks, rendered by experiments.video
    out = tmp_path / "policy.gif"
    assert video.main([f"--workdir={tmp_path}", f"--out={out}", "--max-steps=6", "--width=48", "--height=48"]) == 0
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
