"""'resnet': MLP-ResNet (Ota et al. 2021): h = f(W_0 x), then h = f(W_i h) + h. Submodules as
'mlp''s. Layer 0's mask gates the stream itself, layer i >= 1's the residual branch."""
from __future__ import annotations

from largerl_jax.networks import export_ops
from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.archs import mlp
from largerl_jax.networks.layers import hidden_layer


def forward(cfg, x, widths, masks, train):
    # The first layer projects the input to the stream width; later layers add to the stream.
    h = x
    for i, (w, m) in enumerate(zip(widths, masks)):
        y = hidden_layer(cfg, h, w, f"hidden_{i}", is_first=i == 0, train=train, mask=m)
        h = y if i == 0 else h + y
    return h


def export(p, cfg, v, key, x, widths):
    h = x
    for i in range(len(widths)):
        y = export_ops.hidden(p, cfg, v, key, i, h)
        h = y if i == 0 else p.op("add", h, y)
    return h


def validate(cfg):
    if cfg.widths is not None and len(set(cfg.widths)) != 1:
        raise ValueError(f"torso widths must all be equal for arch='resnet', got {list(cfg.widths)}")


# Every layer writes into one residual stream, so shrinking keeps the union of the layers' units
# in all of them (shared_stream); with the keeps already that union, the stream's takes are an
# mlp's.
RESNET = register_arch(Arch("resnet", forward=forward, out_dim=mlp.out_dim, plan=mlp.plan, export=export,
                            validate=validate, shared_stream=True))
