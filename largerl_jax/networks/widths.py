"""Static shape bookkeeping of a torso, computable without building it."""
from __future__ import annotations

from largerl_jax.networks.config import validate_torso_config


def layer_widths(cfg, in_dim: int) -> list[int]:
    """Output width of each maskable hidden layer, in order; ``masks`` passed to a torso must
    have one entry per element.

    Maskable layers: the ``depth`` hidden layers, or for 'modern' the inner (post-activation)
    layer of each block, since the residual stream is shared by all blocks and cannot lose a
    unit in one block alone. ``in_dim`` does not change the widths today; it is taken so that
    callers need not know which architectures depend on it."""
    del in_dim
    validate_torso_config(cfg)
    if cfg.widths is not None:
        return [int(w) for w in cfg.widths]
    per_layer = cfg.width * cfg.modern_inner_multiple if cfg.arch == "modern" else cfg.width
    return [per_layer] * cfg.depth


def torso_out_dim(cfg, in_dim: int) -> int:
    """Width of the torso's output features, the input width of a head's output layer."""
    widths = layer_widths(cfg, in_dim)
    if cfg.arch == "densenet":
        return in_dim + sum(widths)
    if cfg.arch == "modern":
        return cfg.width
    return widths[-1]
