"""The hidden layers of every network, built from a ``torso_config``.

Submodule names (used by ``param_table`` and by code that slices weights when shrinking):
'hidden_<i>' (+ 'hidden_<i>_norm' with batch norm, + 'hidden_<i>_pass'/'scale' with a diagonal
densenet pass-through) for mlp/resnet/densenet/d2rl;
'proj', 'block_<i>/{up_norm, up, down}', 'final_norm' for modern.

Masks: ``masks[i]`` (None or an array broadcastable to [..., layer_widths(cfg)[i]]) multiplies
the post-activation output of maskable layer i. For 'resnet' that is the residual branch of
layers i >= 1 (layer 0's mask gates the stream itself); for 'modern' it is the inner
activation of block i.
"""
from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from largerl_jax.networks.config import freeze_torso_config
from largerl_jax.networks.layers import activation_fn, dense, hidden_layer, torso_layer_uses_sn
from largerl_jax.networks.widths import layer_widths

Masks = Optional[Sequence[Optional[jax.Array]]]


def _mlp(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return h


def _resnet(cfg, x, widths, masks, train):
    # The first layer projects the input to the stream width; later layers add to the stream.
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        y = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
        h = y if i == 0 else h + y
    return h


class _Passthrough(nn.Module):
    """Learnable diagonal pass-through D * h of a 'densenet' layer (init 1)."""

    @nn.compact
    def __call__(self, h):
        return h * self.param("scale", nn.initializers.ones_init(), (h.shape[-1],), jnp.float32)


def _densenet(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        y = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
        if cfg.densenet_passthrough == "diagonal":
            h = _Passthrough(name=f"hidden_{i}_pass")(h)
        h = jnp.concatenate([h, y], axis=-1)
    return h


def _d2rl(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        inputs = h if i == 0 else jnp.concatenate([h, x], axis=-1)
        h = hidden_layer(cfg, inputs, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return h


class ModernBlock(nn.Module):
    """Pre-LayerNorm transformer feed-forward block: returns the residual branch
    W_down f(W_up LN(h)) (Bjorck et al. 2021, Sec. 3.2); the caller adds it to h."""

    cfg: object
    inner: int

    @nn.compact
    def __call__(self, h, *, mask=None, train: bool = False):
        # Never the network's first Dense, so 'intermediate' normalizes both.
        use_sn = torso_layer_uses_sn(self.cfg, is_first=False)
        y = nn.LayerNorm(name="up_norm")(h)
        y = activation_fn(self.cfg.activation)(dense(self.cfg, self.inner, "up", use_sn=use_sn)(y, train=train))
        if mask is not None:
            y = y * mask
        return dense(self.cfg, h.shape[-1], "down", use_sn=use_sn)(y, train=train)


def _modern(cfg, x, widths, masks, train):
    h = dense(cfg, cfg.width, "proj", use_sn=torso_layer_uses_sn(cfg, is_first=True))(x, train=train)
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = h + ModernBlock(cfg, w, name=f"block_{i}")(h, mask=m, train=train)
    # Pre-LN stacks leave the residual stream unnormalized and growing with depth; a final
    # LayerNorm (as in pre-LN transformers) hands the head features of a fixed scale. Optional:
    # Bjorck et al.'s networks have none.
    return nn.LayerNorm(name="final_norm")(h) if cfg.modern_final_norm else h


_ARCH_FNS = {"mlp": _mlp, "resnet": _resnet, "densenet": _densenet, "d2rl": _d2rl, "modern": _modern}


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
        return _ARCH_FNS[self.cfg.arch](self.cfg, x, widths, list(masks), train)
