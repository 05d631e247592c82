"""Static shape bookkeeping of a torso, computable without building it."""
from __future__ import annotations

from largerl_jax.networks.arch import get_arch
from largerl_jax.networks.config import validate_torso_config


def layer_widths(cfg, in_dim: int) -> list[int]:
    """Output width of each maskable hidden layer, in order; ``masks`` passed to a torso must
    have one entry per element.

    Maskable layers: the ``depth`` hidden layers, each as wide as its architecture's
    ``layer_width`` (for 'modern' the inner, post-activation layer of each block). ``in_dim``
    does not change the widths today; it is taken so that callers need not know which
    architectures depend on it."""
    del in_dim
    validate_torso_config(cfg)
    if cfg.widths is not None:
        return [int(w) for w in cfg.widths]
    return [int(get_arch(cfg.arch).layer_width(cfg))] * cfg.depth


def torso_out_dim(cfg, in_dim: int) -> int:
    """Width of the torso's output features, the input width of a head's output layer."""
    return int(get_arch(cfg.arch).out_dim(cfg, in_dim, layer_widths(cfg, in_dim)))
