"""Pruning's run schedule: the gates round at the last RL update taken by env step 0.8 T, so
the shrink planned at 0.8 T and the evaluation there see rounded pi."""
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config
from largerl_jax.pruning import gated
from largerl_jax.pruning.run_hook import agent_config, rl_updates_by, shrink_points


@pytest.mark.parametrize("num_envs,updates", [(4, 2), (1, 1), (64, 8)])
def test_gates_round_at_the_last_update_before_the_last_shrink(num_envs, updates):
    cfg = get_config("pendulum_sac_v1")
    cfg.agent.pruning.enabled = True
    cfg.env.num_envs, cfg.updates_per_iteration = num_envs, updates
    cfg.total_env_steps, cfg.warmup_env_steps = 64 * 1000, 64 * 100
    agent = agent_config(cfg, cfg.agent)
    at = int(agent.pruning.round_fraction * cfg.total_env_steps)
    assert shrink_points(cfg)[-1] == at  # the last planned shrink is at 0.8 T
    done_by_then = rl_updates_by(cfg, at)  # updates 0 .. done_by_then - 1 have run at 0.8 T
    assert agent.pruning.round_update == done_by_then - 1
    steps = jnp.arange(done_by_then + 2)
    active, round_now = gated.schedule(steps, agent.pruning)
    assert np.flatnonzero(np.asarray(round_now)).tolist() == [done_by_then - 1]  # once, before the shrink
    assert not bool(active[done_by_then - 1]) and not np.asarray(active[done_by_then:]).any()
    # an explicit round_update is kept
    cfg.agent.pruning.round_update = 3
    assert agent_config(cfg, cfg.agent).pruning.round_update == 3
