"""Configuration of OFENet, the online feature extractor of Ota et al. 2020 as used by
Ota et al. 2021 ("Training Larger Networks for Deep RL", Sec. 3.1, App. A.1, A.2, Table 2).

Fields and defaults of ``ofenet_config()``:

* ``num_layers`` (8): DenseNet layers of phi_s, so z_s has obs_dim + num_layers * units dims
  (Table 2, Ant: 111 + 8 * 256 = 2159, the input width of the SAC networks).
* ``units`` (256): units per phi_s layer.
* ``sa_num_layers`` (None) / ``sa_units`` (None): the same for phi_sa; None means "as phi_s".
  Neither paper lists phi_sa separately; the OFENet reference setup builds both extractors
  with the same L and units, so z_sa has z_s_dim + act_dim + L * units dims (Ant: 4215).
* ``activation`` ('swish'): Ota et al. picked swish for the lowest auxiliary loss.
* ``batch_norm`` (True): Dense -> BatchNorm -> activation in every layer. BatchNorm runs in
  training mode (batch statistics, running statistics updated) for the auxiliary loss only;
  features handed to the agent always use the running statistics (App. A.1).
* ``kernel_init`` ('glorot_uniform') / ``bn_epsilon`` (1e-3): Keras's defaults, which the OFENet
  reference code uses (Flax's would be 'lecun_normal' / 1e-5); applied to every OFENet layer
  including the predictor. Batch-norm momentum is 0.99 in both frameworks.
* ``learning_rate`` (3e-4): Adam step size of the auxiliary loss.
* ``batch_size`` (256): minibatch of one OFENet update; the trainer samples it from the same
  replay buffer as the agent, one OFENet update per agent update.
* ``tau`` (0.005): Polyak rate of the target OFENet (Ota 2021, App. A.1; not tuned there).
* ``use_target`` (True): keep a target OFENet. Our reading of Ota 2021 is that it computes the
  next-state features inside bootstrap targets, as a target critic does. Without it, asking for
  target features returns the online ones.
* ``predict_dims`` (None): predict the whole next observation (None) or only its first
  ``predict_dims`` entries. Ota 2020 predicts a prefix for some tasks, e.g. Ant: the first 27 of
  111 dims, leaving out the contact forces.
* ``passthrough`` ('identity'): how each DenseNet layer passes its input on: copied
  ('identity', OFENet) or scaled by learnable diagonal weights ('diagonal', the pruning paper's
  OFEXiNet, spec eq. 10), see the torso field ``densenet_passthrough``.
* ``widths`` / ``sa_widths`` (None): per-layer widths of phi_s / phi_sa, overriding ``units``;
  set when pruning has physically shrunk the extractor, so the smaller arrays can be rebuilt.
* ``pretrain_updates`` (10_000): OFENet updates run on the random-action warm-up data (10,000
  env steps, the trainer's warm-up) before the first agent update.
"""
from __future__ import annotations

import jax
import ml_collections

from largerl_jax.configdict import frozen_config, is_int, locked_config
from largerl_jax.networks import ACTIVATIONS, KERNEL_INITS

_DEFAULTS = dict(
    num_layers=8,
    units=256,
    sa_num_layers=None,
    sa_units=None,
    activation="swish",
    batch_norm=True,
    kernel_init="glorot_uniform",
    bn_epsilon=1e-3,
    learning_rate=3e-4,
    batch_size=256,
    tau=0.005,
    use_target=True,
    predict_dims=None,
    pretrain_updates=10_000,
    passthrough="identity",
    widths=None,
    sa_widths=None,
)


def ofenet_config(**overrides) -> ml_collections.ConfigDict:
    """A validated, locked OFENet ConfigDict (defaults in the module docstring)."""
    for name in ("widths", "sa_widths"):
        if overrides.get(name) is not None:
            overrides[name] = tuple(overrides[name])  # hashable once frozen
    return locked_config("ofenet", _DEFAULTS, overrides, validate_ofenet_config)


def freeze_ofenet_config(cfg) -> ml_collections.FrozenConfigDict:
    """Validated immutable copy: hashable, so a module or state can hold it as static data."""
    return frozen_config(cfg, validate_ofenet_config)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_positive_int(name: str, value, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if not is_int(value) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"ofenet {name} must be a positive int{extra}, got {value!r}")


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"ofenet {name} must be True or False, got {value!r}")


def validate_ofenet_config(cfg) -> None:
    """Raises ValueError naming the offending field. Called again wherever a config is used,
    because a ConfigDict can be edited after creation."""
    missing = sorted(set(_DEFAULTS) - set(cfg.keys()))
    if missing:
        raise ValueError(f"ofenet config lacks fields {missing}; build it with ofenet_config()")
    for name in ("num_layers", "units", "batch_size"):
        _check_positive_int(name, cfg[name])
    for name in ("sa_num_layers", "sa_units", "predict_dims"):
        _check_positive_int(name, cfg[name], allow_none=True)
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"ofenet activation must be one of {list(ACTIVATIONS)}, got {cfg.activation!r}")
    _check_bool("batch_norm", cfg.batch_norm)
    if cfg.kernel_init not in KERNEL_INITS:
        raise ValueError(f"ofenet kernel_init must be one of {list(KERNEL_INITS)}, got {cfg.kernel_init!r}")
    if not _is_number(cfg.bn_epsilon) or not cfg.bn_epsilon > 0:
        raise ValueError(f"ofenet bn_epsilon must be a positive number, got {cfg.bn_epsilon!r}")
    _check_bool("use_target", cfg.use_target)
    # A grid carrying them rebuilds the agent with traced values: those were checked on the
    # host, in each point's own config, before tracing.
    if not isinstance(cfg.learning_rate, jax.core.Tracer):
        if not _is_number(cfg.learning_rate) or not cfg.learning_rate > 0:
            raise ValueError(f"ofenet learning_rate must be a positive number, got {cfg.learning_rate!r}")
    if not isinstance(cfg.tau, jax.core.Tracer):
        if not _is_number(cfg.tau) or not 0 < cfg.tau <= 1:
            raise ValueError(f"ofenet tau must be in (0, 1], got {cfg.tau!r}")
    if cfg.passthrough not in ("identity", "diagonal"):
        raise ValueError(f"ofenet passthrough must be 'identity' or 'diagonal', got {cfg.passthrough!r}")
    for name, layers in (("widths", cfg.num_layers), ("sa_widths", cfg.sa_num_layers or cfg.num_layers)):
        widths = cfg[name]
        if widths is None:
            continue
        if len(tuple(widths)) != layers or not all(is_int(w) and w >= 1 for w in widths):
            raise ValueError(f"ofenet {name} must be None or {layers} positive ints, got {widths!r}")
    if not is_int(cfg.pretrain_updates) or cfg.pretrain_updates < 0:
        raise ValueError(f"ofenet pretrain_updates must be a non-negative int, got {cfg.pretrain_updates!r}")


def check_predict_dims(cfg, obs_dim: int) -> int:
    """Width of the prediction target; a prefix longer than the observation is an error."""
    if cfg.predict_dims is None:
        return int(obs_dim)
    if cfg.predict_dims > obs_dim:
        raise ValueError(f"ofenet predict_dims={cfg.predict_dims} exceeds the observation size {obs_dim}")
    return int(cfg.predict_dims)
