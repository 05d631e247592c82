"""'bronet': BRO's BroNet (Nauman et al., "Bigger, Regularized, Optimistic", NeurIPS 2024;
naumix/BiggerRegularizedOptimistic, jaxrl/networks/common.py BroNet):

    h = relu(LN(W_in x));  h = h + LN(W_2 relu(LN(W_1 h)))  (depth blocks)

every Dense initialised by the torso's ``kernel_init`` (BRO: orthogonal, gain sqrt 2, the
``bro`` configs' 'orthogonal_sqrt2'), inner width = ``width`` (or ``widths``), LayerNorms with
the torso's ``ln_epsilon`` (BRO: Flax's 1e-6). Submodules 'proj', 'proj_norm',
'block_<i>/{up, up_norm, down, down_norm}'. The maskable layers are the blocks' inner
activations. A shrink plan is refused: 'up_norm' normalises over the inner units, so removing one
changes every other unit's value (a gate that is zero is not a removable unit here).
"""
from __future__ import annotations

import flax.linen as nn

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.layers import activation_fn, dense, torso_layer_uses_sn


class BroBlock(nn.Module):
    """The residual branch LN(W_down f(LN(W_up h))); the caller adds it to h."""

    cfg: object
    inner: int

    @nn.compact
    def __call__(self, h, *, mask=None, train: bool = False):
        cfg, use_sn = self.cfg, torso_layer_uses_sn(self.cfg, is_first=False)
        y = dense(cfg, self.inner, "up", use_sn=use_sn)(h, train=train)
        y = activation_fn(cfg.activation)(nn.LayerNorm(epsilon=cfg.ln_epsilon, name="up_norm")(y))
        if mask is not None:
            y = y * mask
        y = dense(cfg, h.shape[-1], "down", use_sn=use_sn)(y, train=train)
        return nn.LayerNorm(epsilon=cfg.ln_epsilon, name="down_norm")(y)


def forward(cfg, x, widths, masks, train):
    h = dense(cfg, cfg.width, "proj", use_sn=torso_layer_uses_sn(cfg, is_first=True))(x, train=train)
    h = activation_fn(cfg.activation)(nn.LayerNorm(epsilon=cfg.ln_epsilon, name="proj_norm")(h))
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = h + BroBlock(cfg, w, name=f"block_{i}")(h, mask=m, train=train)
    return h


def out_dim(cfg, in_dim, widths):
    return cfg.width


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    raise ValueError("arch='bronet' cannot be shrunk: its LayerNorms normalise over the units a shrink would remove")


def export(p, cfg, v, key, x, widths):
    eps = cfg.ln_epsilon
    h = export_ops.dense(p, export_ops.child(v, "proj"), f"{key}/proj", x)
    h = p.op(cfg.activation, export_ops.layer_norm(p, export_ops.child(v, "proj_norm"), f"{key}/proj_norm", h, eps))
    for i in range(len(widths)):
        at, bv = f"{key}/block_{i}", export_ops.child(v, f"block_{i}")
        y = export_ops.dense(p, export_ops.child(bv, "up"), f"{at}/up", h)
        y = p.op(cfg.activation, export_ops.layer_norm(p, export_ops.child(bv, "up_norm"), f"{at}/up_norm", y, eps))
        y = export_ops.gate(p, key, i, y)
        y = export_ops.dense(p, export_ops.child(bv, "down"), f"{at}/down", y)
        h = p.op("add", h, export_ops.layer_norm(p, export_ops.child(bv, "down_norm"), f"{at}/down_norm", y, eps))
    return h


def validate(cfg):
    if cfg.batch_norm:
        raise ValueError("torso batch_norm=True is not allowed with arch='bronet' (it uses LayerNorm)")


BRONET = register_arch(Arch("bronet", forward=forward, out_dim=out_dim, plan=plan, export=export, validate=validate))
