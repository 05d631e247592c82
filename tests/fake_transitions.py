"""Synthetic replay batches shared by the tests (importable because pytest puts tests/ on the path)."""

import jax
import jax.numpy as jnp

from largerl_jax.replay import Transition


def ramp(start: int, n: int, obs_dim: int = 3, act_dim: int = 2) -> Transition:
    """n transitions whose every field holds its own index (start, start+1, ...), so tests can
    read back which slots a buffer kept or sampled; next_obs is the index + 0.5."""
    vals = jnp.arange(start, start + n, dtype=jnp.float32)
    return Transition(
        obs=jnp.tile(vals[:, None], (1, obs_dim)),
        action=jnp.tile(vals[:, None], (1, act_dim)),
        reward=vals,
        next_obs=jnp.tile(vals[:, None] + 0.5, (1, obs_dim)),
        terminated=jnp.zeros(n),
        truncated=jnp.zeros(n),
    )


def gaussian(key, n: int, obs_dim: int, act_dim: int, terminated=0.0, truncated=0.0) -> Transition:
    """n random transitions: normal observations and rewards, actions uniform in [-1, 1]."""
    k_obs, k_act, k_rew, k_next = jax.random.split(key, 4)
    return Transition(
        obs=jax.random.normal(k_obs, (n, obs_dim)),
        action=jax.random.uniform(k_act, (n, act_dim), minval=-1.0, maxval=1.0),
        reward=jax.random.normal(k_rew, (n,)),
        next_obs=jax.random.normal(k_next, (n, obs_dim)),
        terminated=jnp.full((n,), terminated),
        truncated=jnp.full((n,), truncated),
    )
