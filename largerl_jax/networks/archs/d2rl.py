"""'d2rl': D2RL (Sinha et al. 2020): h = f(W_0 x), then h = f(W_i concat(h, x)). Submodules as
'mlp''s."""
from __future__ import annotations

import jax.numpy as jnp

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.archs import mlp
from largerl_jax.networks.compact_takes import cat, hidden_takes
from largerl_jax.networks.layers import hidden_layer


def forward(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        inputs = h if i == 0 else jnp.concatenate([h, x], axis=-1)
        h = hidden_layer(cfg, inputs, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
    return h


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    def rows(i):
        if i == 0:
            return in_keep, in_dim
        # Layer i reads concat(h_{i-1}, x): x's rows sit after the n_{i-1} rows of h_{i-1}.
        return cat([keeps[i - 1], widths[i - 1] + in_keep]), widths[i - 1] + in_dim

    return hidden_takes(cfg, rows, widths, keeps, at), keeps[-1]


def export(p, cfg, v, key, x, widths):
    h = x
    for i in range(len(widths)):
        h = export_ops.hidden(p, cfg, v, key, i, h if i == 0 else p.op("concat", h, x))
    return h


D2RL = register_arch(Arch("d2rl", forward=forward, out_dim=mlp.out_dim, plan=plan, export=export))
