"""SimbaV2's reward scaling (agents/reward_norm.py): the per-env discounted returns, their running
statistics and maximum against NumPy over a random stream, the divisor applied to every sampled
batch's rewards and nothing else, the run hook sizing it, and its one-line refusals."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import get_config
from largerl_jax.agents import interface
from largerl_jax.agents.reward_norm import scale, with_reward_norm
from largerl_jax.replay import Transition
from largerl_jax.training import run, validate
from largerl_jax.training.run_hooks import agent_config_for_run


def _inner():
    """A stand-in agent that reports the rewards it was given."""
    return interface.Agent(name="probe", init=lambda key: jnp.zeros(()), act=None, networks=lambda s: {},
                           update=lambda state, batch, key, weights=None: (state, {"rewards": batch.reward}))


def _cfg(num_envs=3, gamma=0.9):
    return ml_collections.ConfigDict({"gamma": gamma, "reward_norm": {"enabled": True, "g_max": 5.0, "eps": 1e-8,
                                                                       "num_envs": num_envs}})


def test_returns_statistics_and_divisor_equal_numpy_over_a_stream():
    agent = with_reward_norm(_inner(), _cfg())
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    g, seen = np.zeros(3), []
    observe = jax.jit(agent.observe)
    for _ in range(40):
        r = rng.normal(2.0, 3.0, 3).astype(np.float32)
        term, trunc = (rng.random(3) < 0.1).astype(np.float32), (rng.random(3) < 0.05).astype(np.float32)
        state = observe(state, Transition(obs=jnp.zeros((3, 1)), action=jnp.zeros((3, 1)), reward=jnp.asarray(r),
                                          next_obs=jnp.zeros((3, 1)), terminated=jnp.asarray(term),
                                          truncated=jnp.asarray(trunc)))
        g = 0.9 * (1 - np.maximum(term, trunc)) * g + r
        seen.append(g.copy())
    seen = np.concatenate(seen)
    np.testing.assert_allclose(state.returns, g, rtol=1e-5)
    # RunningMeanStd(shape=1) from count 1e-4, mean 0, var 1: the stream's moments to float32 precision
    np.testing.assert_allclose(state.return_stats.mean[0], seen.mean(), rtol=1e-4)
    np.testing.assert_allclose(state.return_stats.var[0], seen.var(), rtol=1e-4)
    assert float(state.return_max) == pytest.approx(np.abs(seen).max(), rel=1e-6)
    expected = max(np.sqrt(seen.var() + 1e-8), np.abs(seen).max() / 5.0)
    assert float(scale(state, 5.0, 1e-8)) == pytest.approx(expected, rel=1e-4)
    batch = Transition(obs=jnp.zeros((2, 1)), action=jnp.zeros((2, 1)), reward=jnp.array([1.0, -3.0]),
                       next_obs=jnp.zeros((2, 1)), terminated=jnp.zeros(2), truncated=jnp.zeros(2))
    new, metrics = agent.update(state, batch, jax.random.PRNGKey(1))
    np.testing.assert_allclose(metrics["rewards"], np.array([1.0, -3.0]) / expected, rtol=1e-4)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(new.return_stats), jax.tree.leaves(state.return_stats)))


def test_the_run_hook_sizes_the_returns_and_bad_values_are_one_line():
    cfg = get_config("pendulum_simba")
    cfg.agent.reward_norm.enabled = True
    assert agent_config_for_run(cfg).reward_norm.num_envs == cfg.env.num_envs == 4
    validate(cfg)
    cfg.agent.reward_norm.g_max = 0.0
    with pytest.raises(ValueError, match="agent.reward_norm.g_max=0.0 must be a positive number"):
        validate(cfg)
    with pytest.raises(ValueError, match="num_envs is unset"):
        with_reward_norm(_inner(), _cfg(num_envs=0))


def test_a_run_scales_rewards_with_statistics_sized_by_its_run_hook(tmp_path):
    cfg = get_config("pendulum_simba")
    cfg.agent.reward_norm.enabled = True
    cfg.agent.actor.width, cfg.agent.critic.width, cfg.agent.batch_size = 8, 8, 32
    cfg.env.num_envs, cfg.env.eval_episodes, cfg.srank_batch_size = 2, 1, 0
    cfg.total_env_steps, cfg.warmup_env_steps, cfg.replay_capacity = 400, 200, 400
    cfg.log_every_env_steps = cfg.eval_every_env_steps = cfg.checkpoint_every_env_steps = 200
    cfg.updates_per_iteration = 2
    records = run(cfg, workdir=str(tmp_path / "run"), num_seeds=1, progress=False)
    # Pendulum's rewards are -16..0 per step: a discounted return of tens, so the divisor is large
    assert records[-1]["env_steps"] == 400 and records[-1]["reward_scale_divisor"] > 1.0
