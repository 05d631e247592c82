"""'densenet': MLP-DenseNet (Ota et al. 2021, Sec. 3.3): y_i = f(BN?(W_i h_{i-1})),
h_i = concat(P_i(h_{i-1}), y_i); the features are the last concatenation. Submodules as
'mlp''s, plus 'hidden_<i>_pass' (param 'scale') with the diagonal pass-through."""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.compact_takes import cat, hidden_takes
from largerl_jax.networks import export_ops
from largerl_jax.networks.layers import hidden_layer


class Passthrough(nn.Module):
    """Learnable diagonal pass-through D * h of a 'densenet' layer (init 1)."""

    @nn.compact
    def __call__(self, h):
        return h * self.param("scale", nn.initializers.ones_init(), (h.shape[-1],), jnp.float32)


def forward(cfg, x, widths, masks, train):
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        y = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
        if cfg.densenet_passthrough == "diagonal":
            h = Passthrough(name=f"hidden_{i}_pass")(h)
        h = jnp.concatenate([h, y], axis=-1)
    return h


def out_dim(cfg, in_dim, widths):
    return in_dim + sum(widths)


def plan(cfg, in_dim, widths, keeps, in_keep, at):
    # Layer i reads h_{i-1} = concat(x, y_0, ..., y_{i-1}): its rows, its diagonal pass-through
    # and 'out''s rows keep I followed by each earlier K_j at its offset.
    # features[i]: kept indices of h_{i-1} and its old width.
    features = [(in_keep, in_dim)]
    for n, k in zip(widths, keeps):
        kept, size = features[-1]
        features.append((cat([kept, size + k]), size + n))
    takes = hidden_takes(cfg, lambda i: features[i], widths, keeps, at)
    if cfg.densenet_passthrough == "diagonal":
        for i in range(len(widths)):
            takes[at((f"hidden_{i}_pass", "scale"))] = ((-1,) + features[i],)
    return takes, features[-1][0]


def export(p, cfg, v, key, x, widths):
    h = x
    for i in range(len(widths)):
        y = export_ops.hidden(p, cfg, v, key, i, h)
        if cfg.densenet_passthrough == "diagonal":
            name = f"hidden_{i}_pass"
            h = p.op("scale", h, scale=p.array(f"{key}/{name}/scale", v["params"][name]["scale"]))
        h = p.op("concat", h, y)
    return h


DENSENET = register_arch(Arch("densenet", forward=forward, out_dim=out_dim, plan=plan, export=export))
