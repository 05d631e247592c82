"""Tanh-squashed diagonal Gaussian (Haarnoja et al. 2018, App. C): a = tanh(u), u ~ N(mean, std).

log pi(a) = sum_d [ log N(u_d; mean_d, std_d) - log(1 - tanh(u_d)^2) ], with the Jacobian term
written as 2 (log 2 - u - softplus(-2u)): exact, and finite for large |u| where
1 - tanh(u)^2 underflows to 0 in float32.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def tanh_log_det_jacobian(pre_tanh: jax.Array) -> jax.Array:
    """Elementwise log(1 - tanh(u)^2)."""
    return 2.0 * (math.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh))


def tanh_gaussian_log_prob(mean: jax.Array, log_std: jax.Array, pre_tanh: jax.Array) -> jax.Array:
    """Log density of a = tanh(pre_tanh), summed over the last (action) axis."""
    z = (pre_tanh - mean) * jnp.exp(-log_std)
    gaussian = -0.5 * jnp.square(z) - log_std - _HALF_LOG_2PI
    return jnp.sum(gaussian - tanh_log_det_jacobian(pre_tanh), axis=-1)


def tanh_gaussian_sample(mean: jax.Array, log_std: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Reparameterized sample: (action in [-1, 1], log_prob summed over the action axis)."""
    pre_tanh = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    return jnp.tanh(pre_tanh), tanh_gaussian_log_prob(mean, log_std, pre_tanh)


def tanh_gaussian_mode(mean: jax.Array) -> jax.Array:
    """Deterministic action used for evaluation."""
    return jnp.tanh(mean)
