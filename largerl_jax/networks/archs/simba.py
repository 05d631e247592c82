"""'simba': SimBa's residual encoder (Lee et al., ICLR 2025; SonyResearch/simba,
scale_rl/agents/sac/sac_network.py SACEncoder and scale_rl/networks/layers.py ResidualBlock):

    h = W_in x;  h = h + W_2 relu(W_1 LN(h))  (depth blocks);  features = LN(h)

with W_1 of inner width 4 x ``width`` and both block Denses He-normal (``he_normal_init``), the
embedding W_in initialised by the torso's ``kernel_init`` (SimBa: orthogonal, gain 1; the
``simba`` configs set it, and it also initialises the head's output layer, as SimBa's heads).
The same shape as 'modern' with its final LayerNorm, so submodules, masks (the blocks' inner
activations), shrink plans and export are modern's: 'proj', 'block_<i>/{up_norm, up, down}',
'final_norm'. ``widths`` overrides the inner widths; ``activation``, ``spectral_norm`` and
``ln_epsilon`` apply as to any torso (SimBa: relu, none, Flax's 1e-6)."""
from __future__ import annotations

from largerl_jax.networks.arch import Arch, register_arch
from largerl_jax.networks.archs import modern

INNER_MULTIPLE = 4  # ResidualBlock: Dense(hidden_dim * 4)
BLOCK_INIT = "he_normal"


def forward(cfg, x, widths, masks, train):
    return modern.forward(cfg, x, widths, masks, train, final_norm=True, block_init=BLOCK_INIT)


def export(p, cfg, v, key, x, widths):
    return modern.export(p, cfg, v, key, x, widths, final_norm=True)


def layer_width(cfg):
    return cfg.width * INNER_MULTIPLE


def validate(cfg):
    if cfg.batch_norm:
        raise ValueError("torso batch_norm=True is not allowed with arch='simba' (it uses LayerNorm)")


SIMBA = register_arch(Arch("simba", forward=forward, out_dim=modern.out_dim, plan=modern.plan, export=export,
                           layer_width=layer_width, validate=validate))
