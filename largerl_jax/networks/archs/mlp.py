"""'mlp': h = f(W_i h). Submodules 'hidden_<i>' (+ 'hidden_<i>_norm' with batch norm)."""
from __future__ import annotations

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.compact_takes import hidden_takes
from largerl_jax.networks.layers import hidden_layer


def forward(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        h = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return h


def out_dim(cfg, in_dim, widths):
    return widths[-1]


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    # columns K_i of hidden_i, rows K_i of hidden_{i+1} (or of the head's 'out')
    def rows(i):
        return (in_keep, in_dim) if i == 0 else (keeps[i - 1], widths[i - 1])

    return hidden_takes(cfg, rows, widths, keeps, at), keeps[-1]


def export(p, cfg, v, key, x, widths):
    h = x
    for i in range(len(widths)):
        h = export_ops.hidden(p, cfg, v, key, i, h)
    return h


MLP = register_arch(Arch("mlp", forward=forward, out_dim=out_dim, plan=plan, export=export))
