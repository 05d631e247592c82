"""Loss landscapes along two random directions (Li et al. 2018, "Visualizing the loss landscape
of neural nets"), as Ota et al. 2021 (App. A.3) draw them for their Q-networks.

Directions are filter-normalised: a Gaussian direction shaped like the parameters, each filter
(a Dense kernel's output unit: its column over the inputs; a conv kernel [h, w, in, out]'s
output channel) rescaled to the norm of that filter in the trained weights, so a step of 1 moves
every filter by its own size and networks of different widths and scales share one axis. 1-D
parameters (biases, LayerNorm / batch-norm scales and offsets, pass-through diagonals) get
direction 0: Li et al.'s 'ignore biasbn' choice, which keeps the plot about the weights.
Members of an ensemble (QNetwork's vmapped 'ensemble', a leading member axis on every leaf) are
separate networks: their filters are normalised one member at a time.

The loss is Ota et al.'s eq. (2): 0.5 * mean over (s, a) of (Q_theta(s, a) - Qhat(s, a))^2 with
Qhat frozen (computed once from the trained networks; see agents.interface.CriticProbe), averaged
over the ensemble members (each member's own eq. (2), then their mean). Always the squared
error, even for agents trained on a Huber loss. Only the probed critic's parameters move; the
critic runs with train=False, so batch norm uses its stored running statistics and spectral norm
its stored power-iteration vectors (sigma follows the perturbed kernel through them).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from largerl_jax.agents.interface import CriticProbe

ENSEMBLE = "ensemble"  # QNetwork's member axis lives under this module name


def member_axes(path) -> int:
    """Leading axes of a parameter that index ensemble members (1 under QNetwork's ensemble)."""
    return int(any(getattr(k, "key", None) == ENSEMBLE for k in path))


def filter_normalized_direction(key: jax.Array, params, lead_axes: Callable = member_axes):
    """A Gaussian direction shaped like ``params``, filter-normalised (see the module docstring);
    ``lead_axes(path)``: how many leading axes of that leaf index separate networks."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for (path, w), k in zip(leaves, keys):
        lead = lead_axes(path)
        if w.ndim - lead <= 1:
            out.append(jnp.zeros_like(w))
            continue
        d = jax.random.normal(k, w.shape, w.dtype)
        fan_in = tuple(range(lead, w.ndim - 1))  # every axis but the members' and the filters'
        w_norm = jnp.sqrt(jnp.sum(jnp.square(w), axis=fan_in, keepdims=True))
        d_norm = jnp.sqrt(jnp.sum(jnp.square(d), axis=fan_in, keepdims=True))
        out.append(d * (w_norm / (d_norm + 1e-10)))
    return jax.tree_util.tree_unflatten(treedef, out)


def two_directions(key: jax.Array, params):
    """Two independent filter-normalised directions (d1, d2) from one explicit key."""
    k1, k2 = jax.random.split(key)
    return filter_normalized_direction(k1, params), filter_normalized_direction(k2, params)


def grid(points: int, span: float) -> jax.Array:
    """``points`` coefficients from -span to span; for odd ``points`` the middle one is exactly 0,
    so the grid holds the trained weights themselves."""
    half = (points - 1) / 2
    return span * (jnp.arange(points, dtype=jnp.float32) - half) / half


def loss_surface(loss_fn: Callable, params, d1, d2, alphas, betas, batch_size: int | None = None) -> jax.Array:
    """loss_fn(params + a d1 + b d2) for every (a, b) in alphas x betas: [len(alphas), len(betas)].
    Grid points are vmapped, ``batch_size`` at a time when given (lax.map), which bounds the
    memory of perturbed weight copies and activations."""
    alphas, betas = jnp.asarray(alphas, jnp.float32), jnp.asarray(betas, jnp.float32)
    a, b = jnp.meshgrid(alphas, betas, indexing="ij")
    coeffs = jnp.stack([a.ravel(), b.ravel()], axis=-1)

    def at(ab):
        return loss_fn(jax.tree.map(lambda w, x, y: w + ab[0] * x + ab[1] * y, params, d1, d2))

    losses = jax.lax.map(at, coeffs, batch_size=batch_size) if batch_size else jax.vmap(at)(coeffs)
    return losses.reshape(alphas.shape[0], betas.shape[0])


def frozen_td_loss(probe: CriticProbe, rows_per_chunk: int | None = None) -> Callable:
    """params -> eq. (2) against ``probe.target`` (frozen), averaged over the ensemble. With
    ``rows_per_chunk`` the rows are evaluated that many at a time (lax.map), so the activations
    of many transitions never live at once; the last chunk is padded and the padding masked."""
    n = probe.target.shape[0]
    if not rows_per_chunk or n <= rows_per_chunk:
        return lambda params: 0.5 * jnp.mean(jnp.square(probe.q(params) - probe.target[None]))
    chunks = -(-n // rows_per_chunk)
    pad = chunks * rows_per_chunk - n

    def split(x):
        x = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)])
        return x.reshape((chunks, rows_per_chunk) + x.shape[1:])

    inputs = tuple(split(x) for x in probe.inputs)
    targets = split(probe.target)
    real = split(jnp.ones(n, jnp.float32))

    def loss(params):
        def chunk_sum(xs):
            chunk_inputs, target, mask = xs
            q = probe.replace(inputs=chunk_inputs, target=target).q(params)
            return jnp.sum(jnp.square(q - target[None]).mean(axis=0) * mask)

        return 0.5 * jnp.sum(jax.lax.map(chunk_sum, (inputs, targets, real))) / n

    return loss
