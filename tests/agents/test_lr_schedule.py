"""Learning-rate schedules (agents/lr_schedule.py): the linear factor, its effect on a SAC
update, the run hook that decays over the run's own updates, and families without schedules
refusing one."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config
from largerl_jax.agents import agent_config, lr_schedule, make_agent
from largerl_jax.replay import Transition
from largerl_jax.training import validate
from largerl_jax.training.run_hooks import agent_config_for_run


def _scheduled(end_factor, decay_updates, name="sac"):
    cfg = agent_config(name)
    cfg.actor.width = cfg.critic.width = 8
    cfg.lr_schedule.kind, cfg.lr_schedule.end_factor, cfg.lr_schedule.decay_updates = "linear", end_factor, decay_updates
    return cfg


def test_linear_factor_moves_to_the_end_and_stays():
    cfg = _scheduled(0.5, 4)
    np.testing.assert_allclose([float(lr_schedule.factor(cfg, s)) for s in (0, 1, 2, 4, 9)], [1, 0.875, 0.75, 0.5, 0.5])
    assert lr_schedule.at(agent_config("sac"), 3e-4, jnp.int32(5)) == 3e-4  # constant: the rate itself


def test_a_rate_decayed_to_zero_stops_every_network_and_the_temperature():
    cfg = _scheduled(0.0, 1)  # factor 1 at update 0, 0 from update 1 on
    agent = make_agent(cfg, 3, 1)
    key = jax.random.PRNGKey(0)
    batch = Transition(obs=jnp.ones((8, 3)), action=jnp.zeros((8, 1)), reward=jnp.ones(8), next_obs=jnp.ones((8, 3)),
                       terminated=jnp.zeros(8), truncated=jnp.zeros(8))
    update = jax.jit(agent.update)
    s0 = agent.init(key)
    s1 = update(s0, batch, key)[0]
    s3 = update(update(s1, batch, key)[0], batch, key)[0]
    for net in ("actor", "critic"):
        a, b, c = (jax.tree.leaves(getattr(s, net).params) for s in (s0, s1, s3))
        assert any(not np.array_equal(x, y) for x, y in zip(a, b)), net
        assert all(np.array_equal(y, z) for y, z in zip(b, c)), net
    assert float(s1.log_alpha) != float(s0.log_alpha) and float(s3.log_alpha) == float(s1.log_alpha)


def test_the_run_hook_decays_over_the_runs_own_updates():
    cfg = get_config("pendulum_simba")
    cfg.agent.lr_schedule.kind, cfg.agent.lr_schedule.end_factor = "linear", 0.5
    # (8,000 - 1,000 warm-up) / 4 envs x 8 updates per iteration
    assert (cfg.total_env_steps, cfg.warmup_env_steps, cfg.env.num_envs, cfg.updates_per_iteration) == (8_000, 1_000, 4, 8)
    assert agent_config_for_run(cfg).lr_schedule.decay_updates == 14_000
    cfg.agent.lr_schedule.decay_updates = 7
    assert agent_config_for_run(cfg).lr_schedule.decay_updates == 7


def test_families_without_schedules_refuse_one_and_bad_values_are_one_line():
    cfg = get_config("pendulum_td3")
    cfg.agent.lr_schedule.kind = "linear"
    with pytest.raises(ValueError, match="agent 'td3' has no learning-rate schedules"):
        validate(cfg)
    cfg = get_config("pendulum_sac")
    cfg.agent.lr_schedule.kind = "cosine"
    with pytest.raises(ValueError, match=r"agent.lr_schedule.kind='cosine' not one of \['constant', 'linear'\]"):
        validate(cfg)
