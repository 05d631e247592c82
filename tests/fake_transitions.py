"""Synthetic replay batches shared by the tests (importable because pytest puts tests/ on the path)."""

import jax
import jax.numpy as jnp

from largerl_jax import replay
from largerl_jax.replay import Transition
from largerl_jax.replay.synthetic import random_transitions


def ramp(start: int, n: int, obs_dim: int = 3, act_dim: int = 2) -> Transition:
    """n transitions whose every field holds its own index (start, start+1, ...), so tests can
    read back which rows a buffer kept or sampled; next_obs is the index + 0.5. As an insert
    batch it is one step of n envs."""
    vals = jnp.arange(start, start + n, dtype=jnp.float32)
    return Transition(
        obs=jnp.tile(vals[:, None], (1, obs_dim)),
        action=jnp.tile(vals[:, None], (1, act_dim)),
        reward=vals,
        next_obs=jnp.tile(vals[:, None] + 0.5, (1, obs_dim)),
        terminated=jnp.zeros(n),
        truncated=jnp.zeros(n),
    )


def stream_step(i: int, obs_dim: int = 3, act_dim: int = 2, done: bool = False) -> Transition:
    """Step i of one env's uninterrupted stream: obs = i, next_obs = i + 1 (the next step's obs),
    or i + 0.5 (a final observation) when the step truncates the episode."""
    t = ramp(i, 1, obs_dim, act_dim)
    if not done:
        return t.replace(next_obs=t.obs + 1.0)
    return t.replace(truncated=jnp.ones(1))


def fill_stream(buf, start: int, n: int, insert=replay.insert, done_every: int = 0):
    """Insert steps start .. start+n-1 of a one-env stream (see ``stream_step``); with
    ``done_every`` = k, every step i with (i + 1) % k == 0 ends an episode."""
    ins = jax.jit(insert)
    obs_dim, act_dim = buf_dims(buf)
    for i in range(start, start + n):
        done = done_every > 0 and (i + 1) % done_every == 0
        buf = ins(buf, stream_step(i, obs_dim, act_dim, done))
    return buf


def buf_dims(buf):
    inner = getattr(buf, "buffer", buf)
    return inner.obs.shape[-1], inner.action.shape[-1]


def flat_buffer(batch: Transition) -> replay.ReplayBuffer:
    """A buffer holding exactly the n transitions of ``batch`` (n envs, two rows each)."""
    n, obs_dim = batch.obs.shape
    buf = replay.init_buffer(2 * n, obs_dim, batch.action.shape[-1], num_envs=n)
    return replay.insert(buf, batch)


def gaussian(key, n: int, obs_dim: int, act_dim: int, terminated=0.0, truncated=0.0) -> Transition:
    """n random transitions: normal observations and rewards, actions uniform in [-1, 1]."""
    return random_transitions(key, n, obs_dim, act_dim, terminated, truncated)
