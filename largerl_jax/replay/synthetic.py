"""Random transitions for tests and benchmarks that need replay batches without an env."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.replay.buffer import Transition


def random_transitions(key, n: int, obs_dim: int, act_dim: int, terminated=0.0, truncated=0.0) -> Transition:
    """n transitions: normal observations and rewards, actions uniform in [-1, 1]."""
    k_obs, k_act, k_rew, k_next = jax.random.split(key, 4)
    return Transition(
        obs=jax.random.normal(k_obs, (n, obs_dim)),
        action=jax.random.uniform(k_act, (n, act_dim), minval=-1.0, maxval=1.0),
        reward=jax.random.normal(k_rew, (n,)),
        next_obs=jax.random.normal(k_next, (n, obs_dim)),
        terminated=jnp.full((n,), terminated),
        truncated=jnp.full((n,), truncated),
    )
