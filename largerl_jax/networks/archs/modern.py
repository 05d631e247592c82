"""'modern': pre-LayerNorm transformer feed-forward blocks (Bjorck et al. 2021, Sec. 3.2):
h = W_in x, then h = h + W_2 f(W_1 LN(h)), then optionally a final LN. Submodules 'proj',
'block_<i>/{up_norm, up, down}', 'final_norm'. The maskable layers are the blocks' inner
activations: the residual stream is shared by all blocks and cannot lose a unit in one alone."""
from __future__ import annotations

import flax.linen as nn
import numpy as np

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.compact_takes import dense_takes
from largerl_jax.networks.layers import activation_fn, dense, torso_layer_uses_sn


class ModernBlock(nn.Module):
    """Pre-LayerNorm transformer feed-forward block: returns the residual branch
    W_down f(W_up LN(h)) (Bjorck et al. 2021, Sec. 3.2); the caller adds it to h."""

    cfg: object
    inner: int
    init: str | None = None  # the Denses' initialiser (None: the torso's kernel_init)

    @nn.compact
    def __call__(self, h, *, mask=None, train: bool = False):
        # Never the network's first Dense, so 'intermediate' normalizes both.
        use_sn = torso_layer_uses_sn(self.cfg, is_first=False)
        y = nn.LayerNorm(epsilon=self.cfg.ln_epsilon, name="up_norm")(h)
        up = dense(self.cfg, self.inner, "up", use_sn=use_sn, init=self.init)
        y = activation_fn(self.cfg.activation)(up(y, train=train))
        if mask is not None:
            y = y * mask
        return dense(self.cfg, h.shape[-1], "down", use_sn=use_sn, init=self.init)(y, train=train)


def forward(cfg, x, widths, masks, train, final_norm=None, block_init=None):
    """``final_norm`` (None: ``cfg.modern_final_norm``) and ``block_init`` (None: the torso's
    kernel_init) let architectures of the same shape ('simba') fix their own."""
    h = dense(cfg, cfg.width, "proj", use_sn=torso_layer_uses_sn(cfg, is_first=True))(x, train=train)
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = h + ModernBlock(cfg, w, block_init, name=f"block_{i}")(h, mask=m, train=train)
    # Pre-LN stacks leave the residual stream unnormalized and growing with depth; a final
    # LayerNorm (as in pre-LN transformers) hands the head features of a fixed scale. Optional:
    # Bjorck et al.'s networks have none.
    final_norm = cfg.modern_final_norm if final_norm is None else final_norm
    return nn.LayerNorm(epsilon=cfg.ln_epsilon, name="final_norm")(h) if final_norm else h


def out_dim(cfg, in_dim, widths):
    return cfg.width


def layer_width(cfg):
    return cfg.width * cfg.modern_inner_multiple


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    # Each block's inner units independently (columns of 'up', rows of 'down'); the residual
    # stream, and so 'proj''s columns, the LayerNorms and 'out', keep their width. 'up' and
    # 'down' are never the first Dense.
    sn = torso_layer_uses_sn(cfg, is_first=False)
    takes = dense_takes(at(("proj",)), (in_keep, in_dim), None, sn=torso_layer_uses_sn(cfg, is_first=True), norm=False)
    for i, (n, k) in enumerate(zip(widths, keeps)):
        takes.update(dense_takes(at((f"block_{i}", "up")), None, (k, n), sn=sn, norm=False))
        takes.update(dense_takes(at((f"block_{i}", "down")), (k, n), None, sn=sn, norm=False))
    return takes, np.arange(cfg.width, dtype=np.int32)


def export(p, cfg, v, key, x, widths, final_norm=None):
    h = export_ops.dense(p, export_ops.child(v, "proj"), f"{key}/proj", x)
    for i in range(len(widths)):
        name, bv = f"block_{i}", export_ops.child(v, f"block_{i}")
        y = export_ops.layer_norm(p, export_ops.child(bv, "up_norm"), f"{key}/{name}/up_norm", h, cfg.ln_epsilon)
        y = p.op(cfg.activation, export_ops.dense(p, export_ops.child(bv, "up"), f"{key}/{name}/up", y))
        y = export_ops.gate(p, key, i, y)
        h = p.op("add", h, export_ops.dense(p, export_ops.child(bv, "down"), f"{key}/{name}/down", y))
    if cfg.modern_final_norm if final_norm is None else final_norm:
        return export_ops.layer_norm(p, export_ops.child(v, "final_norm"), f"{key}/final_norm", h, cfg.ln_epsilon)
    return h


def validate(cfg):
    if cfg.batch_norm:
        raise ValueError("torso batch_norm=True is not allowed with arch='modern' (it uses LayerNorm)")


MODERN = register_arch(Arch("modern", forward=forward, out_dim=out_dim, plan=plan, export=export,
                            layer_width=layer_width, validate=validate))
