"""XiNet gates on an agent's MLP networks (pruning paper, spec Secs. 2, 4.6, 5): which networks
are gated, their complexity-aware regulariser and the gates' schedule."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.networks import layer_widths
from largerl_jax.pruning import complexity
from largerl_jax.pruning import gates as gating


def check_prunable(name: str, torso_cfg) -> None:
    """The cost model of spec eq. (31) is a plain MLP's; other torsos would need their own."""
    if torso_cfg.arch != "mlp" or torso_cfg.spectral_norm != "none":
        raise ValueError(
            f"pruning gates the agent's networks as plain MLPs (spec eq. 31); agent.{name} has arch="
            f"{torso_cfg.arch!r}, spectral_norm={torso_cfg.spectral_norm!r}: use arch='mlp' without spectral norm"
        )


def init_network_gates(torso_cfg, in_dim: int, optimizer, pruning, lead: tuple[int, ...] = ()) -> gating.Gates:
    return gating.init_gates(layer_widths(torso_cfg, in_dim), optimizer, pruning.pi0, lead)


def schedule(step: jax.Array, pruning) -> tuple[jax.Array, jax.Array]:
    """(active, round_now) for RL update number ``step`` (0-based): pi moves only after the
    warm-up and before the rounding, and is rounded once, at ``round_update``."""
    round_at = pruning.round_update
    if round_at is None:
        raise ValueError("pruning.round_update is unset: the trainer derives it from round_fraction; set it when "
                         "building an agent outside the trainer")
    active = (step >= pruning.warmup_updates) & (step < round_at)
    return active, step == round_at


def regulariser(pi, alive, d_in, n_out: int, lam: float, attribution: str) -> jax.Array:
    """lam * sum_l c_l N_l for one MLP (spec eq. 32/34); pi/alive per hidden layer with optional
    leading member axes (a Q ensemble: each member is its own network with its own cost).
    ``d_in``: the expected input width (constant; from the feature extractor's gates)."""
    widths = jnp.stack(gating.expected_widths(gating.Gates(pi=pi, alive=alive, opt_state=None)), axis=-1)  # [..., L]
    flat = widths.reshape(-1, widths.shape[-1])
    d_in = jax.lax.stop_gradient(jnp.asarray(d_in, jnp.float32))
    c = jax.vmap(lambda w: complexity.mlp_thresholds(w, d_in, n_out, attribution))(flat)
    return lam * jnp.sum(c * flat)


def first_width(gates: gating.Gates) -> jax.Array:
    """Expected width of the first hidden layer [...] (read by the OFE's thresholds)."""
    return gating.expected_widths(gates)[0]
