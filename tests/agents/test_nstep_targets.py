"""Every TD agent reads n-step batches (replay.nstep) through td.batch_target / td.target_terms:
an n-step batch that took one step updates exactly as the one-step batch does, and two steps
change the target; a run with ``nstep`` > 1 trains end to end."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.agents.td import batch_target, target_terms
from largerl_jax.training import run, validate
from experiments.configs import get_config
from fake_transitions import gaussian

OBS, ACT, B, N = 5, 2, 16, 3


def _agent(name):
    cfg = agent_config(name)
    for net in ("actor", "critic", "value", "actor_o"):
        if net in cfg:
            cfg[net].widths, cfg[net].width = None, 8
    cfg.batch_size = B
    if "n_quantiles" in cfg:
        cfg.n_quantiles = 8
    if "reward_norm" in cfg and cfg.reward_norm.get("enabled", False):
        cfg.reward_norm.num_envs = 1  # what the run hook sets (SimbaV2's reward scaling)
    return make_agent(cfg, OBS, ACT)


def _as_nstep(batch, steps: int, extra: float = 0.0):
    rewards = jnp.zeros((B, N)).at[:, 0].set(batch.reward)
    if steps > 1:
        rewards = rewards.at[:, 1].set(extra)
    return batch.replace(rewards=rewards, steps=jnp.full((B,), steps, jnp.int32))


def _with_return_max(state):
    """SimbaV2's reward scaling (down the wrappers' ``agent`` chain) with a divisor of 10, not 1."""
    if hasattr(state, "return_max"):
        return state.replace(return_max=jnp.float32(50.0))
    if hasattr(state, "agent"):
        return state.replace(agent=_with_return_max(state.agent))
    return state


def test_targets_of_one_step_and_n_step_batches():
    batch = gaussian(jax.random.PRNGKey(0), B, OBS, ACT, terminated=0.0).replace(
        terminated=jnp.arange(B) % 2 * 1.0)
    v = jnp.linspace(-1, 1, B)
    reward, keep = target_terms(batch, 0.9)
    np.testing.assert_array_equal(np.asarray(reward), np.asarray(batch.reward))
    np.testing.assert_allclose(np.asarray(keep), 0.9 * (1 - np.asarray(batch.terminated)))
    two = _as_nstep(batch, 2, extra=0.5)
    want = 2.0 * (np.asarray(batch.reward) + 0.9 * 0.5) + 0.81 * (1 - np.asarray(batch.terminated)) * np.asarray(v)
    np.testing.assert_allclose(np.asarray(batch_target(two, v, 0.9, 2.0)), want, rtol=1e-6)


@pytest.mark.parametrize("name", ["sac", "sac_v1", "td3", "simba", "simbav2", "bro"])
def test_an_n_step_batch_of_one_step_updates_as_the_one_step_batch(name):
    agent = _agent(name)
    state = agent.init(jax.random.PRNGKey(1))
    state = _with_return_max(state)
    batch = gaussian(jax.random.PRNGKey(2), B, OBS, ACT)
    key = jax.random.PRNGKey(3)
    plain, _ = jax.jit(agent.update)(state, batch, key)
    same, _ = jax.jit(agent.update)(state, _as_nstep(batch, 1), key)
    longer, _ = jax.jit(agent.update)(state, _as_nstep(batch, 2, extra=1.0), key)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(same)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    assert any(not np.allclose(np.asarray(a), np.asarray(b)) for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(longer)))


def test_a_run_with_three_step_returns_trains_and_a_bad_n_is_refused(tmp_path):
    cfg = get_config("pendulum_sac")
    cfg.agent.actor.width = cfg.agent.critic.width = 16
    cfg.agent.batch_size = 32
    cfg.total_env_steps, cfg.warmup_env_steps, cfg.replay_capacity = 400, 200, 1000
    cfg.log_every_env_steps = cfg.eval_every_env_steps = cfg.checkpoint_every_env_steps = 200
    cfg.env.eval_episodes = 1
    cfg.nstep = 3
    records = run(cfg, workdir=str(tmp_path / "run"), num_seeds=1, progress=False)
    assert records[-1]["env_steps"] == 400 and np.isfinite(records[-1]["critic_loss"])
    cfg.nstep = 0
    with pytest.raises(ValueError, match="nstep=0 must be an integer >= 1"):
        validate(cfg)
