"""The hidden layers of every network, built from a ``torso_config`` by its architecture's
declared forward (``networks.arch``; each architecture's module documents its submodule names,
which ``param_table``, shrink plans and export read).

Masks: ``masks[i]`` (None or an array broadcastable to [..., layer_widths(cfg)[i]]) multiplies
the post-activation output of maskable layer i. For 'resnet' that is the residual branch of
layers i >= 1 (layer 0's mask gates the stream itself); for 'modern' it is the inner
activation of block i.
"""
from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from largerl_jax.networks.arch import get_arch
from largerl_jax.networks.config import freeze_torso_config
from largerl_jax.networks.widths import layer_widths

Masks = Optional[Sequence[Optional[jax.Array]]]


class Torso(nn.Module):
    """Hidden layers only; heads add their own output layer (see layers.output_layer)."""

    cfg: object  # torso_config(); stored frozen

    def __post_init__(self):
        object.__setattr__(self, "cfg", freeze_torso_config(self.cfg))
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, masks: Masks = None) -> jax.Array:
        widths = layer_widths(self.cfg, x.shape[-1])
        if masks is None:
            masks = [None] * len(widths)
        elif len(masks) != len(widths):
            raise ValueError(f"masks must have {len(widths)} entries (one per maskable layer), got {len(masks)}")
        return get_arch(self.cfg.arch).forward(self.cfg, x, widths, list(masks), train)
