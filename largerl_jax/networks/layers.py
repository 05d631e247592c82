"""Layer helpers shared by the torso architectures and the heads.

They are plain functions called inside a parent's ``@nn.compact`` method, so the Dense and its
normalization become direct children of that parent. Naming convention (relied on by
``param_table``): a normalization that belongs to Dense ``<name>`` is called ``<name>_norm``.
"""
from __future__ import annotations

import flax.linen as nn
import jax

from largerl_jax.networks import initializers
from largerl_jax.networks.batch_renorm import BatchRenorm
from largerl_jax.networks.spectral_norm import SNDense

# Running-statistics momentum: Flax's and Keras's default alike (the OFENet reference code is
# Keras), so it is not a config field. Epsilon and the kernel initialiser differ between the two
# and are torso config fields (see networks.config).
BN_MOMENTUM = 0.99

_INITIALIZERS = {
    "lecun_normal": nn.initializers.lecun_normal(),  # Flax's default
    "glorot_uniform": nn.initializers.glorot_uniform(),  # Keras's default (OFENet reference code)
    "orthogonal": initializers.orthogonal(scale=1.0),  # DrQ's weight_init (gain 1)
    # He et al. 2015: N(0, 2 / fan_in), truncated (Flax's he_normal), SimBa's residual blocks
    "he_normal": nn.initializers.he_normal(),
    # orthogonal with gain sqrt(2), the ReLU gain: BRO's default_init (jaxrl/networks/common.py)
    "orthogonal_sqrt2": initializers.orthogonal(scale=2.0 ** 0.5),
}

_ACTIVATIONS = {"relu": nn.relu, "swish": nn.swish}


def kernel_initializer(name: str):
    return _INITIALIZERS[name]


def activation_fn(name: str):
    return _ACTIVATIONS[name]


def torso_layer_uses_sn(cfg, is_first: bool) -> bool:
    """'intermediate' spares the torso's first Dense (Bjorck et al., App. C)."""
    return cfg.spectral_norm == "all" or (cfg.spectral_norm == "intermediate" and not is_first)


def output_uses_sn(cfg) -> bool:
    """Only 'all' normalizes the head's output layer, so Q values can grow large."""
    return cfg.spectral_norm == "all"


def dense(cfg, features: int, name: str, *, use_sn: bool, init: str | None = None) -> SNDense:
    """An SNDense initialised by ``init`` (a KERNEL_INITS name; None: the torso's kernel_init)."""
    return SNDense(features, use_sn=use_sn, sn_iters=cfg.sn_iters, kernel_init=_INITIALIZERS[init or cfg.kernel_init],
                   name=name)


def batch_renorm(cfg, x: jax.Array, name: str, train: bool) -> jax.Array:
    return BatchRenorm(warmup_steps=cfg.brn_warmup_steps, name=name)(x, train)


def hidden_layer(cfg, x: jax.Array, features: int, name: str, *, is_first: bool, train: bool, mask=None):
    """BRN?(f(BN?/LN?(W x))) * mask: the composite unit of every non-'modern' torso (batch norm
    before the activation, Ota et al.'s; layer norm there, FastSAC's; batch renormalization
    after it, CrossQ's).

    The mask multiplies the activation so a zero entry removes the unit from everything
    downstream, which is what per-unit pruning gates need."""
    y = dense(cfg, features, name, use_sn=torso_layer_uses_sn(cfg, is_first))(x, train=train)
    if cfg.batch_norm:
        y = nn.BatchNorm(
            use_running_average=not train, momentum=BN_MOMENTUM, epsilon=cfg.bn_epsilon, name=f"{name}_norm"
        )(y)
    elif cfg.layer_norm:
        y = nn.LayerNorm(epsilon=cfg.ln_epsilon, name=f"{name}_norm")(y)
    y = activation_fn(cfg.activation)(y)
    if cfg.batch_renorm:
        y = batch_renorm(cfg, y, f"{name}_renorm", train)
    return y if mask is None else y * mask


def output_layer(cfg, x: jax.Array, features: int, *, train: bool, name: str = "out") -> jax.Array:
    return dense(cfg, features, name, use_sn=output_uses_sn(cfg))(x, train=train)
