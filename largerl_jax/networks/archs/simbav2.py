"""'simbav2': SimbaV2's hyperspherical encoder (Lee et al., "Hyperspherical Normalization for
Scalable Deep RL", ICML 2025; dojeon-ai/SimbaV2, scale_rl/agents/simbaV2/simbaV2_layer.py
HyperEmbedder, HyperLERPBlock, HyperMLP, HyperDense, Scaler, and simbaV2_update.py l2normalize):

    embed:  x = L2(concat(x, 3)) ; h = L2(s_e * (W_e x))
    block:  y = L2(W_2 (relu(s_i * (W_1 h)) + 1e-8)) ; h = L2(h + a * (y - h))   (depth blocks)

with bias-free 'hyper_dense' Denses initialised orthogonal (column axis 0) whose kernels
``project`` puts back on the unit sphere along their input axis after every optimizer step,
and learnable per-unit scalers stored at ``scale`` and used as value x init / scale (the
Scaler of the code): s_e (init = scale = sqrt(2/h)), s_i on the inner 4h units (both / 2, the
code's sqrt of the expansion), a (init 1/(depth + 1), scale 1/sqrt(h)). Features are unit
vectors of width h. ``activation``, ``spectral_norm``, ``kernel_init`` and ``ln_epsilon`` are
not read (the definition fixes them). Masks gate the blocks' inner units; shrink plans are
refused (the L2 normalisations span the units a shrink would remove).
Submodules: 'embed/{hyper_dense, scaler}', 'block_<i>/{up/hyper_dense, up_scaler, down/hyper_dense,
alpha}'.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.networks import export_ops, initializers
from largerl_jax.networks.arch import Arch, register_arch

C_SHIFT = 3.0  # actor_c_shift / critic_c_shift (configs/agent/simbaV2.yaml)
EXPANSION = 4  # HyperLERPBlock.expansion
EPS = 1e-8  # simbaV2_update.py EPS and HyperMLP's eps


def l2normalize(x, axis: int = -1):
    return x / jnp.maximum(jnp.linalg.norm(x, axis=axis, keepdims=True), EPS)


class HyperDense(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.features, use_bias=False, name="hyper_dense",
                        kernel_init=initializers.orthogonal(1.0, column_axis=0))(x)


class Scaler(nn.Module):
    """x * s * (start / stored): the parameter s starts at ``stored`` so the product starts at
    ``start`` (SimbaV2's Scaler(init, scale): the stored scale sets s's effective learning rate)."""

    start: float
    stored: float

    @nn.compact
    def __call__(self, x):
        s = self.param("scaler", nn.initializers.constant(self.stored), (x.shape[-1],))
        return s * (self.start / self.stored) * x


def embed_scale(width: int) -> float:
    """The embedder Scaler's start (= stored): sqrt(2 / h)."""
    return math.sqrt(2.0 / width)


def inner_scale(width: int) -> float:
    """The inner Scaler's start (= stored): the embedder's / sqrt(expansion)."""
    return embed_scale(width) / math.sqrt(EXPANSION)


def alpha_scales(width: int, depth: int) -> tuple[float, float]:
    """The LERP rate's (start, stored): 1 / (depth + 1), 1 / sqrt(h)."""
    return 1.0 / (depth + 1), 1.0 / math.sqrt(width)


class LERPBlock(nn.Module):
    width: int
    inner: int
    depth: int

    @nn.compact
    def __call__(self, h, mask=None):
        s = inner_scale(self.width)
        y = Scaler(s, s, name="up_scaler")(HyperDense(self.inner, name="up")(h))
        y = nn.relu(y) + EPS
        if mask is not None:
            y = y * mask
        y = l2normalize(HyperDense(self.width, name="down")(y))
        a = Scaler(*alpha_scales(self.width, self.depth), name="alpha")(y - h)
        return l2normalize(h + a)


def forward(cfg, x, widths, masks, train):
    h_dim = cfg.width
    s = embed_scale(h_dim)
    x = l2normalize(jnp.concatenate([x, jnp.full(x.shape[:-1] + (1,), C_SHIFT, x.dtype)], axis=-1))
    h = l2normalize(Scaler(s, s, name="embed_scaler")(HyperDense(h_dim, name="embed")(x)))
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = LERPBlock(h_dim, w, len(widths), name=f"block_{i}")(h, m)
    return h


def out_dim(cfg, in_dim, widths):
    return cfg.width


def layer_width(cfg):
    return cfg.width * EXPANSION


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    raise ValueError("arch='simbav2' cannot be shrunk: its L2 normalisations span the units a shrink would remove")


def scaler_factor(params, start: float, stored: float):
    """A Scaler's per-feature factor (its params: {'scaler': s}) as its forward applies it:
    s * start / stored."""
    return np.asarray(params["scaler"], np.float32) * np.float32(start / stored)


def export(p, cfg, v, key, x, widths):
    """The forward above as export ops: bias-free Denses, per-feature scales for the Scalers,
    L2 normalisations, the LERP as h + a * (y - h); each block's gate slot follows its inner
    units where the forward applies the mask."""
    h_dim, params = cfg.width, v["params"]
    s, si = embed_scale(h_dim), inner_scale(h_dim)
    x = p.op("l2_normalize", p.op("append_constant", x, value=C_SHIFT), eps=EPS)
    h = export_ops.bias_free_dense(p, {"params": params["embed"]["hyper_dense"]}, f"{key}/embed/hyper_dense", x)
    h = p.op("scale", h, scale=p.array(f"{key}/embed_scaler", scaler_factor(params["embed_scaler"], s, s)))
    h = p.op("l2_normalize", h, eps=EPS)
    for i in range(len(widths)):
        b = params[f"block_{i}"]
        bkey = f"{key}/block_{i}"
        y = export_ops.bias_free_dense(p, {"params": b["up"]["hyper_dense"]}, f"{bkey}/up/hyper_dense", h)
        y = p.op("scale", y, scale=p.array(f"{bkey}/up_scaler", scaler_factor(b["up_scaler"], si, si)))
        y = export_ops.gate(p, key, i, p.op("add_constant", p.op("relu", y), value=EPS))
        y = export_ops.bias_free_dense(p, {"params": b["down"]["hyper_dense"]}, f"{bkey}/down/hyper_dense", y)
        y = p.op("l2_normalize", y, eps=EPS)
        a = p.op("scale", p.op("sub", y, h),
                 scale=p.array(f"{bkey}/alpha", scaler_factor(b["alpha"], *alpha_scales(h_dim, len(widths)))))
        h = p.op("l2_normalize", p.op("add", h, a), eps=EPS)
    return h


def validate(cfg):
    if cfg.batch_norm:
        raise ValueError("torso batch_norm=True is not allowed with arch='simbav2'")


def project(params):
    """``params`` with every 'hyper_dense' kernel scaled to unit L2 norm along its input axis
    (axis -2, so ensembles' [K, in, out] kernels too): SimbaV2's l2normalize_network after each
    optimizer step. Everything else (scalers, other layers) is returned as it is."""
    def visit(tree):
        if not isinstance(tree, dict):
            return tree
        return {k: ({**v, "kernel": l2normalize(v["kernel"], axis=-2)} if k == "hyper_dense" else visit(v))
                for k, v in tree.items()}

    return visit(jax.tree.map(lambda x: x, params))


SIMBAV2 = register_arch(Arch("simbav2", forward=forward, out_dim=out_dim, plan=plan, export=export,
                             layer_width=layer_width, validate=validate))
