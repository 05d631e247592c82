"""Complexity-aware pruning thresholds (pruning paper eqs. 17-34; spec ``xinet.md`` Sec. 4) and
the parameter counts of its Tables 3-4 (spec Sec. 6.4).

Expected costs are polynomials in the expected layer widths S_l = 1^T pi^s_l (OFENet's phi_s),
T_l (phi_sa) and N^m_l (hidden layer l of RL network m). Gate l is charged lambda * c_l per unit
of expected width, where c_l is read from the current widths and held constant (stop_gradient).

"Producer pays" (default, spec eqs. 28-29, 32): each layer pays for its own bias/BN constants,
for its weights from fixed inputs and for every weight and pass-through entry that *reads* its
output, so sum_l c_l S_l equals the expected cost minus its value at S = T = 0 exactly (eq. 30)
and earlier layers, read by everything after them, get higher thresholds. The alternative
'gradient' (spec (A)) charges the true derivative of the expected cost, which adds each layer's
fan-in from other gated layers.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp

ATTRIBUTIONS = ("producer", "gradient")
# RL networks reading z_s (policy, V) and z_sa (Q1, Q2) (spec eqs. 25-26).
STATE_READERS = ("pi", "V")
STATE_ACTION_READERS = ("Q1", "Q2")


def _exclusive_suffix_sum(x: jax.Array) -> jax.Array:
    """sum_{k > l} x_k for every l."""
    return jnp.cumsum(x[::-1])[::-1] - x


def _exclusive_prefix_sum(x: jax.Array) -> jax.Array:
    """sum_{k < l} x_k for every l."""
    return jnp.cumsum(x) - x


def _check_attribution(attribution: str) -> None:
    if attribution not in ATTRIBUTIONS:
        raise ValueError(f"threshold attribution must be one of {list(ATTRIBUTIONS)}, got {attribution!r}")


def ofe_cost(S, T, first_widths: Mapping[str, jax.Array], d_s: int, d_a: int, d_o: int, gamma) -> jax.Array:
    """C^gamma_OFE (spec eqs. 21-27): deploy cost (phi_s, the policy's first layer) plus gamma
    times the training-only cost (phi_sa, the predictor, the first layers of V, Q1, Q2)."""
    S, T = jnp.asarray(S, jnp.float32), jnp.asarray(T, jnp.float32)
    in_s = d_s + _exclusive_prefix_sum(S)
    cost_s = jnp.sum((in_s + 2) * S + in_s)
    z_s = d_s + jnp.sum(S)
    in_sa = z_s + d_a + _exclusive_prefix_sum(T)
    cost_sa = jnp.sum((in_sa + 2) * T + in_sa)
    z_sa = z_s + d_a + jnp.sum(T)
    cost_pred = (z_sa + 1) * d_o
    n = first_widths
    train_only = cost_sa + cost_pred + z_s * n["V"] + z_sa * (n["Q1"] + n["Q2"])
    return cost_s + z_s * n["pi"] + gamma * train_only


def ofe_thresholds(S, T, first_widths: Mapping[str, jax.Array], d_s: int, d_a: int, d_o: int, gamma,
                   attribution: str = "producer") -> tuple[jax.Array, jax.Array]:
    """(c_s [L_s], c_sa [L_sa]): per-unit thresholds of phi_s and phi_sa layers (to be scaled by
    lambda_phi), constants with respect to pi (spec eqs. 28-29)."""
    _check_attribution(attribution)
    S, T = jnp.asarray(S, jnp.float32), jnp.asarray(T, jnp.float32)
    n = first_widths
    c_s = (d_s + 2) + _exclusive_suffix_sum(S + 1) + n["pi"] + gamma * (
        jnp.sum(T + 1) + d_o + n["V"] + n["Q1"] + n["Q2"]
    )
    c_sa = gamma * ((d_s + d_a + 2) + _exclusive_suffix_sum(T + 1) + d_o + n["Q1"] + n["Q2"])
    if attribution == "gradient":
        c_s = c_s + _exclusive_prefix_sum(S)
        c_sa = c_sa + gamma * (jnp.sum(S) + _exclusive_prefix_sum(T))
    return jax.lax.stop_gradient(c_s), jax.lax.stop_gradient(c_sa)


def mlp_cost(hidden, d_in, n_out) -> jax.Array:
    """C_m = sum_l (N_{l-1} + 1) N_l of a fully connected net (spec eq. 31)."""
    hidden = jnp.asarray(hidden, jnp.float32)
    widths = jnp.concatenate([jnp.reshape(jnp.asarray(d_in, jnp.float32), (1,)), hidden, jnp.full((1,), n_out, jnp.float32)])
    return jnp.sum((widths[:-1] + 1) * widths[1:])


def mlp_thresholds(hidden, d_in, n_out, attribution: str = "producer") -> jax.Array:
    """c^m_l per hidden layer (spec eq. 32): [l == 1] d_in + 1 + N_{l+1} (N_L := n_out); with
    'gradient' also + N_{l-1} for l >= 2."""
    _check_attribution(attribution)
    hidden = jnp.asarray(hidden, jnp.float32)
    nxt = jnp.concatenate([hidden[1:], jnp.full((1,), n_out, jnp.float32)])
    c = (1.0 + nxt).at[0].add(d_in)
    if attribution == "gradient":
        c = c + jnp.concatenate([jnp.zeros(1), hidden[:-1]])
    return jax.lax.stop_gradient(c)


# ---- parameter counts in the convention that reproduces the paper's Table 4 (spec 6.4) ----

def ofe_layers_params(d_in: int, widths: Sequence[int]) -> tuple[int, int]:
    """(parameters, output width) of a DenseNet OFE branch: per layer in*n weights, n biases,
    2n BN scale/shift and `in` diagonal pass-through entries (running statistics not counted)."""
    params, dim = 0, int(d_in)
    for n in widths:
        params += dim * n + 3 * n + dim
        dim += int(n)
    return params, dim


def mlp_params(d_in: int, hidden: Sequence[int], n_out: int) -> int:
    widths = [int(d_in), *map(int, hidden), int(n_out)]
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))


def deploy_train_params(d_s: int, d_a: int, ofe_s: Sequence[int], ofe_sa: Sequence[int],
                        hidden: Mapping[str, Sequence[int]], d_o: int | None = None) -> dict[str, int]:
    """Parameters needed to deploy (phi_s + policy) and to keep learning (phi_s, phi_sa, policy,
    V, Q1, Q2; targets not counted), as the paper's Table 4. ``ofe_s``/``ofe_sa`` are the
    per-layer (alive) widths, empty for plain SAC; ``hidden[m]`` the hidden widths of network m.
    The predictor is counted separately ('train_with_predictor') because the paper's table is
    inconsistent about it (spec 6.4); ratios use 'train'."""
    p_s, z_s = ofe_layers_params(d_s, ofe_s)
    if ofe_s or ofe_sa:
        p_sa, z_sa = ofe_layers_params(z_s + d_a, ofe_sa)
    else:
        p_sa, z_sa = 0, z_s + d_a
    policy = mlp_params(z_s, hidden["pi"], 2 * d_a)
    critics = mlp_params(z_s, hidden["V"], 1) + mlp_params(z_sa, hidden["Q1"], 1) + mlp_params(z_sa, hidden["Q2"], 1)
    deploy = p_s + policy
    train = p_s + p_sa + policy + critics
    predictor = (z_sa + 1) * (d_s if d_o is None else d_o) if (ofe_s or ofe_sa) else 0
    return {"deploy": deploy, "train": train, "train_with_predictor": train + predictor}
