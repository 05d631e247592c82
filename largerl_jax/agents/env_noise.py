"""Per-env exploration noise scales (FastTD3, Seo et al. 2025): each of a seed's N envs explores
with its own Gaussian noise std, drawn uniformly from [low, high] and redrawn when that env's
episode ends, so one policy collects data at many exploration levels at once.

The scales are carried state ([N] and the key that redraws them). They are redrawn in
``Agent.observe`` (what the learner calls when it stores a step), for every env whose stored
step ended its episode (terminated or truncated): the next action of that env, the first of its
new episode, uses the new scale, as FastTD3's ``Actor.explore(obs, dones)`` redraws the scales
of the envs flagged done by the previous step before acting."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class EnvNoise:
    scales: jax.Array  # [N] float32: the noise std of each env
    key: jax.Array  # redraws the scales


def draw(key: jax.Array, num_envs: int, low, high) -> jax.Array:
    return jax.random.uniform(key, (num_envs,), minval=low, maxval=high)


def init_env_noise(key: jax.Array, num_envs: int, low, high) -> EnvNoise:
    k_draw, k_next = jax.random.split(key)
    return EnvNoise(scales=draw(k_draw, num_envs, low, high), key=k_next)


def redraw_at_ends(noise: EnvNoise, trans, low, high) -> EnvNoise:
    """New scales for the envs whose step in ``trans`` ([N] flags) ended an episode."""
    k_draw, k_next = jax.random.split(noise.key)
    done = jnp.maximum(trans.terminated, trans.truncated) > 0
    fresh = draw(k_draw, noise.scales.shape[0], low, high)
    return EnvNoise(scales=jnp.where(done, fresh, noise.scales), key=k_next)


def explore(noise: EnvNoise, action: jax.Array, key: jax.Array) -> jax.Array:
    """``action`` [N, A] plus each env's Gaussian noise, clipped to the action box [-1, 1]."""
    if action.shape[0] != noise.scales.shape[0]:
        raise ValueError(f"per-env exploration noise has {noise.scales.shape[0]} scales (the run's env.num_envs) "
                         f"but acting got {action.shape[0]} observations")
    eps = jax.random.normal(key, action.shape)
    return jnp.clip(action + eps * noise.scales[:, None], -1.0, 1.0)
