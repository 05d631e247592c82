"""n-step returns (replay.nstep) against a brute-force walk over each env's logged stream of
transitions: random terminations and truncations, rings that wrap several times, n = 1, 3, 8."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.replay import buffer as rb
from largerl_jax.replay.nstep import nstep_return, nstep_rows, nstep_transition

GAMMA = 0.9


def _stream(num_envs: int, ring: int, steps: int, seed: int):
    """Inserts ``steps`` random steps of ``num_envs`` envs; returns the buffer and each env's
    log of transitions (obs, reward, terminated, truncated, next_obs), oldest first. Observations
    encode (env, step) so a stored row names its transition; final observations get +0.5."""
    rng = np.random.default_rng(seed)
    buffer = rb.init_buffer(num_envs * ring, 2, 1, num_envs)
    logs = [[] for _ in range(num_envs)]
    obs = np.array([[e, 0.0] for e in range(num_envs)], np.float32)
    for t in range(steps):
        u = rng.random(num_envs)
        term, trunc = (u < 0.08).astype(np.float32), ((u >= 0.08) & (u < 0.16)).astype(np.float32)
        reward = rng.normal(size=num_envs).astype(np.float32)
        ended = (term + trunc) > 0
        next_obs = np.array([[e, t + 1 + 0.5 * ended[e]] for e in range(num_envs)], np.float32)
        buffer = rb.insert(buffer, rb.Transition(
            obs=jnp.asarray(obs), action=jnp.zeros((num_envs, 1)), reward=jnp.asarray(reward),
            next_obs=jnp.asarray(next_obs), terminated=jnp.asarray(term), truncated=jnp.asarray(trunc)))
        for e in range(num_envs):
            logs[e].append((obs[e].copy(), reward[e], term[e], trunc[e], next_obs[e].copy()))
        # after an episode end the env resets: a fresh observation (its step, +0.25)
        obs = np.where(ended[:, None], np.array([[e, t + 1.25] for e in range(num_envs)], np.float32), next_obs)
    return buffer, logs


def _reference(log, i: int, n: int):
    """(G, discount, bootstrap observation) of log entry i by walking the log."""
    ret, m, j = 0.0, 0, i
    while True:
        _, r, term, trunc, nxt = log[j]
        ret += GAMMA ** m * r
        m += 1
        if term:
            return ret, 0.0, nxt
        if trunc or m == n or j == len(log) - 1:  # j == newest: the ring's write position
            return ret, GAMMA ** m, nxt
        j += 1


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_nstep_matches_a_walk_over_the_logged_stream(n, seed):
    buffer, logs = _stream(num_envs=3, ring=12, steps=50, seed=seed)  # each ring wraps 4 times
    idx = jnp.asarray(np.flatnonzero(np.asarray(buffer.valid)), jnp.int32)
    plan = nstep_rows(buffer, idx, n)
    got = nstep_transition(rb.gather(buffer, idx), rb.gather(buffer, plan.last), plan)
    g, d = nstep_return(got.rewards, got.steps, got.terminated, GAMMA)
    obs, ret, disc, nxt = (np.asarray(x) for x in (got.obs, g, d, got.next_obs))
    where = {tuple(o): (e, i) for e, log in enumerate(logs) for i, (o, *_rest) in enumerate(log)}
    shortened = ended_early = 0
    for k in range(len(idx)):
        e, i = where[tuple(obs[k])]
        want_ret, want_disc, want_next = _reference(logs[e], i, n)
        assert ret[k] == pytest.approx(want_ret, abs=1e-5) and disc[k] == pytest.approx(want_disc, abs=1e-6)
        np.testing.assert_array_equal(nxt[k], want_next)
        shortened += int(plan.steps[k]) < n
        ended_early += want_disc == 0.0
    assert len(idx) > 25 and ended_early > 0 and (n == 1 or shortened > 0)  # the edge cases occurred


def test_one_step_is_the_plain_transition():
    buffer, _ = _stream(num_envs=2, ring=10, steps=30, seed=3)
    idx = jnp.asarray(np.flatnonzero(np.asarray(buffer.valid)), jnp.int32)
    plan = nstep_rows(buffer, idx, 1)
    plain = rb.gather(buffer, idx)
    got = nstep_transition(plain, rb.gather(buffer, plan.last), plan)
    for field in ("obs", "action", "reward", "next_obs", "terminated", "truncated"):
        np.testing.assert_array_equal(np.asarray(getattr(got, field)), np.asarray(getattr(plain, field)))
    g, d = nstep_return(got.rewards, got.steps, got.terminated, GAMMA)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(plain.reward))
    np.testing.assert_allclose(np.asarray(d), GAMMA * (1 - np.asarray(plain.terminated)), rtol=1e-6)


def test_n_below_one_is_refused():
    buffer, _ = _stream(num_envs=1, ring=4, steps=3, seed=0)
    with pytest.raises(ValueError, match="n >= 1"):
        nstep_rows(buffer, jnp.zeros((1,), jnp.int32), 0)
