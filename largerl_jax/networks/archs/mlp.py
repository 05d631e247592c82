"""'mlp': h = f(W_i h). Submodules 'hidden_<i>' (+ 'hidden_<i>_norm' with batch or layer norm; with batch
renormalization 'input_renorm' on the input and 'hidden_<i>_renorm' after each activation)."""
from __future__ import annotations

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.compact_takes import hidden_takes
from largerl_jax.networks.batch_renorm import EPSILON as BRN_EPSILON
from largerl_jax.networks.layers import batch_renorm, hidden_layer


def forward(cfg, x, widths, masks, train):
    h = batch_renorm(cfg, x, "input_renorm", train) if cfg.batch_renorm else x
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return h


def out_dim(cfg, in_dim, widths):
    return widths[-1]


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    if cfg.batch_renorm or cfg.layer_norm:
        # both normalise across a layer's units: removing units changes what the rest compute
        raise ValueError("shrinking a batch-renormalized or layer-normalized torso is not supported")
    # columns K_i of hidden_i, rows K_i of hidden_{i+1} (or of the head's 'out')
    def rows(i):
        return (in_keep, in_dim) if i == 0 else (keeps[i - 1], widths[i - 1])

    return hidden_takes(cfg, rows, widths, keeps, at), keeps[-1]


def export(p, cfg, v, key, x, widths):
    h = x
    if cfg.batch_renorm:  # evaluation mode: the affine map of the running statistics
        h = export_ops.batch_norm(p, export_ops.child(v, "input_renorm"), f"{key}/input_renorm", h, BRN_EPSILON)
    for i in range(len(widths)):
        h = export_ops.hidden(p, cfg, v, key, i, h)
    return h


MLP = register_arch(Arch("mlp", forward=forward, out_dim=out_dim, plan=plan, export=export))
