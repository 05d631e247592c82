"""Configuration of a network torso (the hidden layers shared by every head).

Fields and defaults of ``torso_config()``:

* ``arch`` ('mlp'): connectivity, a registered architecture (``networks.arch``; the library's
  are declared in ``networks/archs/``, one module each):
    - 'mlp':      h = f(W_i h).
    - 'resnet':   MLP-ResNet (Ota et al. 2021): h = f(W_0 x), then h = f(W_i h) + h.
    - 'densenet': MLP-DenseNet (Ota et al. 2021, Sec. 3.3): y_i = f(BN?(W_i h_{i-1})),
                  h_i = concat(h_{i-1}, y_i); the features are the last concatenation.
    - 'd2rl':     D2RL (Sinha et al. 2020): h = f(W_0 x), then h = f(W_i concat(h, x)).
    - 'modern':   pre-LayerNorm transformer feed-forward blocks (Bjorck et al. 2021, Sec. 3.2):
                  h = W_in x, then h = h + W_2 f(W_1 LN(h)), then optionally a final LN
                  (``modern_final_norm``).
    - 'bronet':   BRO's BroNet (Nauman et al. 2024): h = relu(LN(W_in x)), then
                  h = h + LN(W_2 relu(LN(W_1 h))) (networks/archs/bronet.py).
    - 'simbav2':  SimbaV2's hyperspherical encoder (Lee et al. 2025b): L2-normalised
                  bias-free layers, learnable scalers, LERP blocks; kernels re-projected to the
                  unit sphere after each step (networks/archs/simbav2.py).
    - 'simba':    SimBa's residual encoder (Lee et al. 2025): h = W_in x, then
                  h = h + W_2 relu(W_1 LN(h)) with inner width 4 x width and He-normal blocks,
                  then a final LN (networks/archs/simba.py).
* ``width`` (256): units per hidden layer; for 'modern' the width of the residual stream.
* ``depth`` (2): number of hidden layers ('modern': number of residual blocks).
* ``widths`` (None): optional per-layer widths, one per maskable layer (see
  ``layer_widths``), overriding ``width`` so that physically pruned networks can be rebuilt.
  For 'modern' they are the inner widths of the blocks (the residual stream keeps ``width``);
  for 'resnet' they must all be equal because every layer adds into the same stream.
* ``activation`` ('relu'): 'relu' or 'swish' (Ota et al. use swish for ResNet/DenseNet).
* ``spectral_norm`` ('none'): which Dense layers are spectrally normalized.
    - 'none'.
    - 'intermediate': Bjorck et al. (App. C): every Dense except the torso's first one and the
      head's output layer, so the network is not forced to be 1-Lipschitz end to end and can
      still represent large Q values.
    - 'all': every Dense, including the head's output layer.
* ``sn_iters`` (1): power iterations per training forward pass.
* ``batch_norm`` (False): Dense -> BatchNorm -> activation in every hidden layer, the
  DenseNet composite function of Ota et al. / OFENet. Not allowed with 'modern', which
  normalizes with LayerNorm.
* ``batch_renorm`` (False): batch renormalization (networks.batch_renorm, Ioffe 2017) as CrossQ
  places it (Bhatt et al. 2024, adityab/CrossQ): on the torso's input and after every hidden
  layer's activation, ``BRN -> [Dense -> f -> BRN]*``. 'mlp' only, not with ``batch_norm``.
  Its running statistics and warm-up counter live in 'batch_stats'; its constants are CrossQ's
  (momentum 0.99, eps 1e-3, r_max 3, d_max 5).
* ``layer_norm`` (False): Dense -> LayerNorm -> activation in every hidden layer ('mlp' only,
  not with ``batch_norm``): FastSAC's critic and actor stacks (amazon-far/holosoma,
  agents/fast_sac). The LayerNorm is the Dense's ``<name>_norm`` with epsilon ``ln_epsilon``.
* ``brn_warmup_steps`` (100,000): training-mode calls during which batch renormalization is
  plain batch norm (CrossQ's warm-up).
* ``kernel_init`` ('lecun_normal'): initialiser of every Dense kernel of the torso and of the
  head's output layer, one of KERNEL_INITS. 'lecun_normal' is Flax's default and our choice for
  the library's own configs; 'glorot_uniform' is Keras's, which the OFENet reference code (and
  so Ota et al.'s runs) used: the Ota et al. configs set it; 'orthogonal' (gain 1) is DrQ's
  ``weight_init`` (``nn.init.orthogonal_`` on every Linear, drq/utils.py), which Bjorck et al.
  build on: the ``dmc_*`` configs set it; 'he_normal' (truncated N(0, 2 / fan_in)) is what
  SimBa's residual blocks use (the 'simba' architecture fixes it there); 'orthogonal_sqrt2'
  (gain sqrt 2) is BRO's initialiser of every Dense. Biases start at zero in every case.
* ``ln_epsilon`` (1e-6): epsilon of the torso's LayerNorms ('modern') and, for pixel heads,
  of the encoder's feature LayerNorm. 1e-6 is Flax's default; PyTorch's, and so DrQ's and
  Bjorck et al.'s, is 1e-5, which the ``dmc_*`` configs set.
* ``bn_epsilon`` (1e-5): batch-norm epsilon. 1e-5 is Flax's default and our choice; the Ota et
  al. configs set Keras's 1e-3, the reference code's.
* ``modern_inner_multiple`` (2): inner width of a 'modern' block as a multiple of ``width``
  (Bjorck et al.: residual width 1024, inner 2048).
* ``densenet_passthrough`` ('identity'): how a 'densenet' layer passes its input on,
  ``h_i = concat(P_i(h_{i-1}), y_i)``. 'identity' copies it (Ota et al.); 'diagonal' multiplies
  it elementwise by learnable weights D_i (init 1, params 'hidden_<i>_pass'), the pass-through of
  the pruning paper's OFEXiNet (spec eq. 10), which lets a layer fade out inputs it need not carry.
* ``modern_final_norm`` (True): a LayerNorm on the residual stream before the head's output
  layer, as pre-LN transformers end. Our addition: Bjorck et al.'s block is only
  ``x + W2 relu(W1 LN(x))`` and their configs (``dmc_*``) switch it off.
"""
from __future__ import annotations

import ml_collections

from largerl_jax.configdict import frozen_config, is_int, locked_config
from largerl_jax.networks import archs as _archs  # noqa: F401  (registers the library's architectures)
from largerl_jax.networks.arch import get_arch

ACTIVATIONS = ("relu", "swish")
SPECTRAL_NORMS = ("none", "intermediate", "all")
KERNEL_INITS = ("lecun_normal", "glorot_uniform", "orthogonal", "he_normal", "orthogonal_sqrt2")
PASSTHROUGHS = ("identity", "diagonal")

_DEFAULTS = dict(
    arch="mlp",
    width=256,
    depth=2,
    widths=None,
    activation="relu",
    spectral_norm="none",
    sn_iters=1,
    batch_norm=False,
    batch_renorm=False,
    layer_norm=False,
    brn_warmup_steps=100_000,
    kernel_init="lecun_normal",
    bn_epsilon=1e-5,
    ln_epsilon=1e-6,
    modern_inner_multiple=2,
    modern_final_norm=True,
    densenet_passthrough="identity",
)


def torso_config(**overrides) -> ml_collections.ConfigDict:
    """A validated, locked torso ConfigDict (defaults in the module docstring)."""
    if overrides.get("widths") is not None:
        # Tuples keep the config hashable once frozen; lists from callers are accepted.
        overrides["widths"] = tuple(overrides["widths"])
    return locked_config("torso", _DEFAULTS, overrides, validate_torso_config)


def freeze_torso_config(cfg) -> ml_collections.FrozenConfigDict:
    """Validated immutable copy. Modules hold their config frozen so that they are hashable
    (usable as static jit arguments) and cannot change under a built network."""
    return frozen_config(cfg, validate_torso_config)


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"torso {name} must be one of {list(allowed)}, got {value!r}")


def _check_positive_int(name: str, value) -> None:
    if not is_int(value) or value < 1:
        raise ValueError(f"torso {name} must be a positive int, got {value!r}")


def validate_torso_config(cfg) -> None:
    """Raises ValueError naming the offending field and its allowed values.

    Called again when a torso is built because a ConfigDict can be edited after creation."""
    missing = sorted(set(_DEFAULTS) - set(cfg.keys()))
    if missing:
        raise ValueError(f"torso config lacks fields {missing}; build it with torso_config()")
    arch = get_arch(cfg.arch)
    _check_choice("activation", cfg.activation, ACTIVATIONS)
    _check_choice("spectral_norm", cfg.spectral_norm, SPECTRAL_NORMS)
    _check_choice("kernel_init", cfg.kernel_init, KERNEL_INITS)
    _check_choice("densenet_passthrough", cfg.densenet_passthrough, PASSTHROUGHS)
    for name in ("bn_epsilon", "ln_epsilon"):
        value = cfg[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"torso {name} must be a positive number, got {value!r}")
    for name in ("width", "depth", "sn_iters", "modern_inner_multiple"):
        _check_positive_int(name, cfg[name])
    if not isinstance(cfg.modern_final_norm, bool):
        raise ValueError(f"torso modern_final_norm must be True or False, got {cfg.modern_final_norm!r}")
    if not isinstance(cfg.batch_norm, bool):
        raise ValueError(f"torso batch_norm must be True or False, got {cfg.batch_norm!r}")
    if not isinstance(cfg.batch_renorm, bool):
        raise ValueError(f"torso batch_renorm must be True or False, got {cfg.batch_renorm!r}")
    if not isinstance(cfg.layer_norm, bool):
        raise ValueError(f"torso layer_norm must be True or False, got {cfg.layer_norm!r}")
    if cfg.layer_norm and (cfg.arch != "mlp" or cfg.batch_norm):
        raise ValueError(f"torso layer_norm=True needs arch='mlp' without batch_norm, got arch={cfg.arch!r}, "
                         f"batch_norm={cfg.batch_norm}")
    if not is_int(cfg.brn_warmup_steps) or cfg.brn_warmup_steps < 0:
        raise ValueError(f"torso brn_warmup_steps must be an int >= 0, got {cfg.brn_warmup_steps!r}")
    if cfg.batch_renorm and (cfg.arch != "mlp" or cfg.batch_norm):
        raise ValueError(f"torso batch_renorm=True needs arch='mlp' without batch_norm, got arch={cfg.arch!r}, "
                         f"batch_norm={cfg.batch_norm}")
    if cfg.widths is not None:
        widths = tuple(cfg.widths)
        if len(widths) != cfg.depth:
            raise ValueError(f"torso widths must have depth={cfg.depth} entries, got {len(widths)}")
        for w in widths:
            _check_positive_int("widths entry", w)
    arch.validate(cfg)
