"""A tiny DM Control run from states (Playground, MJX, action repeat 2) through the runner."""
import numpy as np

from experiments.configs import get_config
from largerl_jax.training import run


def test_tiny_state_run_on_a_dmc_task(tmp_path):
    cfg = get_config("dmc_cartpole_balance_modern2_sn")
    for net in ("actor", "critic"):
        cfg.agent[net].width = 16
    cfg.agent.batch_size = 32
    cfg.env.num_envs, cfg.env.eval_episodes, cfg.env.episode_length = 2, 2, 40  # 20 agent steps
    cfg.total_env_steps, cfg.warmup_env_steps = 80, 40
    cfg.log_every_env_steps = cfg.eval_every_env_steps = 40
    cfg.checkpoint_every_env_steps = 0
    cfg.replay_capacity = 200
    records = run(cfg, workdir=str(tmp_path), num_seeds=2, progress=False)
    assert [r["env_steps"] for r in records] == [40, 40, 80, 80]
    last = records[-1]
    # 20 agent steps per episode, at most 1 reward per simulator step, 2 simulator steps each
    assert all(0.0 <= r["eval_return"] <= 40.0 for r in records)
    assert last["grad_steps"] == 20 and np.isfinite(last["critic_loss"]) and last["actor_grad_norm"] > 0
    svs = {k: v for k, v in last.items() if k.startswith("sv/")}
    assert "sv/critic/ensemble/torso/block_1/up" in svs and "sv/actor/torso/block_0/down" in svs
