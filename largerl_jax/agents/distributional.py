"""Distributional TD pieces for any SAC-style agent: the quantile critic's regression loss (QR-DQN,
Dabney et al. 2018, as BRO trains its critics) and the categorical critic's projection and
cross-entropy (C51, Bellemare et al. 2017, as SimbaV2 and FastTD3 do).

Shapes: B the batch, N the predicted quantiles or atoms, M the target's."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def quantile_midpoints(n: int) -> jax.Array:
    """tau_i = (2i + 1) / 2n, i < n: the quantile levels a critic of n outputs regresses
    (BRO's bro_learner.py: midpoints of arange(n + 1) / n)."""
    edges = jnp.arange(n + 1, dtype=jnp.float32) / n
    return (edges[1:] + edges[:-1]) / 2.0


def quantile_huber_loss(pred: jax.Array, target: jax.Array, taus: jax.Array, kappa: float = 1.0) -> jax.Array:
    """BRO's ``calculate_quantile_huber_loss`` (jaxrl/bro/critic.py) for one critic: with
    u_bij = target_bj - pred_bi (target gradient-stopped), the Huber loss
    H(u) = u^2 / 2 for |u| <= kappa, kappa (|u| - kappa / 2) otherwise, weighted by
    |tau_i - 1{u_bij < 0}| / kappa, summed over the predicted quantiles i and averaged over the
    batch and the target's quantiles j. pred [B, N], target [B, M], taus [N]."""
    u = jax.lax.stop_gradient(target)[:, None, :] - pred[:, :, None]
    abs_u = jnp.abs(u)
    huber = jnp.where(abs_u <= kappa, 0.5 * jnp.square(u), kappa * (abs_u - 0.5 * kappa))
    weight = jnp.abs(taus[None, :, None] - jax.lax.stop_gradient((u < 0).astype(u.dtype)))
    return (weight * huber / kappa).sum(axis=1).mean()


def categorical_projection(probs: jax.Array, returns: jax.Array, v_min: float, v_max: float) -> jax.Array:
    """C51's projection of the distribution with mass ``probs`` [B, M] on the atoms ``returns``
    [B, M] (r + gamma z_j, per sample) onto N = M evenly spaced atoms on [v_min, v_max]: each
    clipped return at fractional position b splits its mass between atoms floor(b) and
    ceil(b) linearly. The exact-bin fix: where b is an integer both neighbours are the same atom
    and the usual (u - b, b - l) weights are both 0, dropping the mass; it goes whole to that
    atom instead."""
    n = probs.shape[-1]
    delta = (v_max - v_min) / (n - 1)
    b = (jnp.clip(returns, v_min, v_max) - v_min) / delta
    lower, upper = jnp.floor(b), jnp.ceil(b)
    w_lower = probs * (upper - b + (upper == lower))
    w_upper = probs * (b - lower)
    rows = jnp.arange(probs.shape[0])[:, None]
    out = jnp.zeros_like(probs)
    out = out.at[rows, lower.astype(jnp.int32)].add(w_lower)
    return out.at[rows, upper.astype(jnp.int32)].add(w_upper)


def categorical_loss(logits: jax.Array, target_probs: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Cross-entropy of the predicted atoms' logits [B, N] against the projected target [B, N]
    (gradient-stopped), averaged over the batch (weighted by ``weights`` [B] when given:
    prioritized replay's importance weights)."""
    ce = -(jax.lax.stop_gradient(target_probs) * jax.nn.log_softmax(logits, axis=-1)).sum(-1)
    return ce.mean() if weights is None else (weights * ce).mean()


def categorical_targets(next_logits: jax.Array, returns: jax.Array, v_min: float, v_max: float,
                        lower_mean: bool) -> jax.Array:
    """Projected C51 targets [K, B, N] of K target critics: member k's next-state distribution
    (``next_logits`` [K, B, N]) moved to ``returns`` [B, N] (r + gamma z_j, and any entropy term)
    and projected. With ``lower_mean`` every member regresses the projection of the member
    whose projected expectation is lower, per sample (FastTD3's clipped double Q on
    distributions, fast_td3/train.py; ties go to the later member, as its
    ``where(v1 < v2, p1, p2)``); without it each member its own (FastSAC)."""
    atoms = jnp.linspace(v_min, v_max, next_logits.shape[-1])
    proj = jax.vmap(lambda lg: categorical_projection(jax.nn.softmax(lg, axis=-1), returns, v_min, v_max))(next_logits)
    if not lower_mean:
        return proj
    mean = (proj * atoms).sum(-1)  # [K, B]
    pick = mean.shape[0] - 1 - jnp.argmin(mean[::-1], axis=0)  # the last member of minimal mean
    return jnp.broadcast_to(jnp.take_along_axis(proj, pick[None, :, None], axis=0)[0], proj.shape)


def categorical_problems(agent_cfg) -> list[str]:
    """Problems of a categorical-critic agent's ``bins``, ``v_min``/``v_max`` and its actor period
    ``policy_delay`` (FastTD3, FastSAC)."""
    problems = []
    if not (isinstance(agent_cfg.bins, int) and agent_cfg.bins >= 2 and agent_cfg.v_min < agent_cfg.v_max):
        problems.append(f"agent.bins={agent_cfg.bins!r} must be an int >= 2 and v_min < v_max")
    if not (isinstance(agent_cfg.policy_delay, int) and agent_cfg.policy_delay >= 1):
        problems.append(f"agent.policy_delay={agent_cfg.policy_delay!r} must be an int >= 1")
    return problems
