import pytest

from experiments.configs import get_config


@pytest.fixture
def tiny_pendulum():
    """pendulum_sac shrunk to seconds: 16-wide nets, 1.6K env steps, eval every 400."""

    def make(algo="sac"):
        cfg = get_config(f"pendulum_{algo}")
        for net in ("actor", "critic", "value"):
            if net in cfg.agent:
                cfg.agent[net].width = 16
        cfg.agent.batch_size = 64
        cfg.env.num_envs = 4
        cfg.env.eval_episodes = 2
        cfg.updates_per_iteration = 2
        cfg.total_env_steps = 1600
        cfg.warmup_env_steps = 400
        cfg.replay_capacity = 1000  # smaller than the run: exercises wrap-around
        cfg.log_every_env_steps = 400
        cfg.eval_every_env_steps = 400
        cfg.checkpoint_every_env_steps = 800
        # The effective rank costs one more compiled program per run; the tests that check it
        # turn it on (test_runner.test_metrics_records_and_files, the grid tests).
        cfg.srank_batch_size = 0
        return cfg

    return make
