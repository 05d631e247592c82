"""Actor and critic heads: a Torso plus one output Dense named 'out'.

All heads take ``train`` (batch-norm mode, spectral power iterations) and ``masks`` (one entry
per maskable torso layer, see torso.py) and are applied as

    module.apply(variables, *inputs, train=True, mutable=['spectral', 'batch_stats'])
    module.apply(variables, *inputs)                       # train=False: nothing changes
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from largerl_jax.networks import export_ops, initializers
from largerl_jax.networks.config import freeze_torso_config
from largerl_jax.networks.layers import output_layer, output_uses_sn
from largerl_jax.networks.spectral_norm import SNDense
from largerl_jax.networks.torso import Masks, Torso
from largerl_jax.networks.torso_export import export_torso


class _Head(nn.Module):
    """Base of every head: holds the torso config, frozen (hashable, immutable once built)."""

    torso: object  # torso_config()

    def __post_init__(self):
        object.__setattr__(self, "torso", freeze_torso_config(self.torso))
        super().__post_init__()


LOG_STD_BOUNDS = ("clip", "tanh")


def bound_log_std(x, low: float, high: float, how: str):
    """The raw log-std output ``x`` bounded to [low, high]: 'clip' hard-clips it (the original
    SAC code, and the OFENet reference code); 'tanh' rescales a tanh,
    low + 0.5 (high - low) (tanh(x) + 1), as DrQ's actor does (drq/drq.py, Actor.forward), which
    starts near the middle of the range with slope (high - low) / 2 and never loses its gradient."""
    if how == "clip":
        return jnp.clip(x, low, high)
    if how == "tanh":
        return low + 0.5 * (high - low) * (jnp.tanh(x) + 1.0)
    raise ValueError(f"log_std_bound must be one of {list(LOG_STD_BOUNDS)}, got {how!r}")


def policy_output(cfg, h, features: int, train: bool, out_std: float | None):
    """A policy's output Dense 'out': initialised as the torso's kernels (``out_std`` None) or with
    kernel ~ N(0, out_std^2) and zero bias (FastTD3's last actor layer: 0.01; FastSAC's: 0, so
    the initial policy is the same for every input)."""
    if out_std is None:
        return output_layer(cfg, h, features, train=train)
    return SNDense(features, use_sn=output_uses_sn(cfg), sn_iters=cfg.sn_iters,
                   kernel_init=nn.initializers.normal(out_std), name="out")(h, train=train)


class GaussianPolicy(_Head):
    """obs -> (mean, log_std) of the pre-tanh Gaussian; log_std bounded (``bound_log_std``)."""

    act_dim: int
    log_std_min: float = -20.0
    log_std_max: float = 2.0
    log_std_bound: str = "clip"
    out_std: float | None = None  # see policy_output

    @nn.compact
    def __call__(self, obs, train: bool = False, masks: Masks = None):
        h = Torso(self.torso, name="torso")(obs, train=train, masks=masks)
        mean, log_std = jnp.split(policy_output(self.torso, h, 2 * self.act_dim, train, self.out_std), 2, axis=-1)
        return mean, bound_log_std(log_std, self.log_std_min, self.log_std_max, self.log_std_bound)


class DeterministicPolicy(_Head):
    """obs -> tanh(W h) in [-1, 1]^act_dim (TD3)."""

    act_dim: int
    out_std: float | None = None  # see policy_output

    @nn.compact
    def __call__(self, obs, train: bool = False, masks: Masks = None):
        h = Torso(self.torso, name="torso")(obs, train=train, masks=masks)
        return jnp.tanh(policy_output(self.torso, h, self.act_dim, train, self.out_std))


class ActionShift(_Head):
    """(obs, mean) -> a shift of the mean [B, act_dim]: a torso on concat(obs, mean) and a
    bias-free output Dense initialised orthogonal with gain ``scale`` (BRO's optimistic actor,
    DualTanhPolicy in naumix/BiggerRegularizedOptimistic jaxrl/networks/policies.py: gain 0.01,
    so exploration starts at the conservative policy's mean)."""

    act_dim: int
    scale: float = 0.01

    @nn.compact
    def __call__(self, obs, mean, train: bool = False, masks: Masks = None):
        h = Torso(self.torso, name="torso")(jnp.concatenate([obs, mean], axis=-1), train=train, masks=masks)
        return nn.Dense(self.act_dim, use_bias=False, kernel_init=initializers.orthogonal(self.scale), name="out")(h)


class VNetwork(_Head):
    """obs -> V(s) of shape [B]."""

    @nn.compact
    def __call__(self, obs, train: bool = False, masks: Masks = None):
        h = Torso(self.torso, name="torso")(obs, train=train, masks=masks)
        return output_layer(self.torso, h, 1, train=train)[..., 0]


# How the ensemble's first layer reads its input, a speed choice measured on XLA:CPU (2 cores,
# 2026-11-21); the results are the same either way. With a shared (unmapped) input the members'
# first layers are one dot whose rhs alone carries the member axis. For large layers XLA runs
# that at half the speed of a batched dot over per-member copies of the input (184 vs 386
# GFLOP/s for 2 x [256, 4207] x [4207, 2048]: the ant_sac_ofe update takes 527 instead of 588
# ms with copies), while for small ones the shared form is faster (ant_sac at 8 seeds: about
# 10% more steps/s). So members get copies from this many first-layer weights per member on.
BROADCAST_INPUT_MIN_WEIGHTS = 1 << 20


class _QMember(_Head):
    train: bool  # attributes, not arguments, so the vmap below never maps over them
    penultimate: bool = False
    outputs: int = 1

    @nn.compact
    def __call__(self, x, masks):
        h = Torso(self.torso, name="torso")(x, train=self.train, masks=masks)
        if self.penultimate:
            return h
        out = output_layer(self.torso, h, self.outputs, train=self.train)
        return out[..., 0] if self.outputs == 1 else out


class QNetwork(_Head):
    """(obs, action) -> Q values [num_q, B] from ``num_q`` independently initialized members.

    The members are one ``nn.vmap``-ed module, so twin critics run as a single batched
    computation; every variable (params, spectral u, batch stats) has a leading member axis,
    e.g. params['ensemble']['torso']['hidden_0']['kernel'] is [num_q, in, out].
    ``masks`` entries, when given, also need that leading axis: [num_q, ..., width].
    ``penultimate=True`` returns each member's penultimate features instead, the input of its
    'out' Dense [num_q, B, D] (effective rank, analysis.srank); 'out' is then not applied.
    ``outputs`` > 1 (a distributional critic: quantiles, or a categorical critic's logits) gives
    [num_q, B, outputs]."""

    num_q: int = 2
    outputs: int = 1

    @nn.compact
    def __call__(self, obs, action=None, train: bool = False, masks: Masks = None, penultimate: bool = False):
        # action=None: ``obs`` already is the critic input (e.g. OFENet's state-action features).
        x = obs if action is None else jnp.concatenate([obs, action], axis=-1)
        first_width = self.torso.widths[0] if self.torso.widths else self.torso.width
        broadcast = x.shape[-1] * first_width >= BROADCAST_INPUT_MIN_WEIGHTS
        if broadcast:
            x = jnp.broadcast_to(x, (self.num_q,) + x.shape)
        members = nn.vmap(
            _QMember,
            variable_axes={"params": 0, "spectral": 0, "batch_stats": 0},
            split_rngs={"params": True},
            in_axes=(0 if broadcast else None, 0),
            out_axes=0,
            axis_size=self.num_q,
        )
        return members(self.torso, train, penultimate, self.outputs, name="ensemble")(
            x, None if masks is None else list(masks))


def export_policy(p, module, variables, key: str, x: str) -> tuple[str, int]:
    """The deterministic action of a GaussianPolicy (tanh of the mean) or a DeterministicPolicy
    (tanh of the output layer) as export ops (``export_ops``) reading ``x``: (the action's name,
    act_dim). The ``export`` of every agent whose actor is one of these heads."""
    if not isinstance(module, (GaussianPolicy, DeterministicPolicy)):
        raise ValueError(f"cannot export a policy head of type {type(module).__name__}")
    h = export_torso(p, module.torso, export_ops.child(variables, "torso"), f"{key}/torso", x)
    # a Gaussian's mean and log_std are the two halves of 'out' (jnp.split): keep the mean's
    columns = module.act_dim if isinstance(module, GaussianPolicy) else None
    out = export_ops.dense(p, export_ops.child(variables, "out"), f"{key}/out", h, columns=columns)
    return p.op("tanh", out), int(module.act_dim)
