"""The OFENet module (Ota et al. 2020): two DenseNet feature extractors and a linear predictor.

    z_s  = phi_s(s)                    obs_dim + L * units
    z_sa = phi_sa(concat(z_s, a))      z_s_dim + act_dim + L_sa * units_sa
    pred = W z_sa + b                  next observation (or its first predict_dims entries)

Both extractors are the library's 'densenet' Torso (Dense -> BatchNorm -> swish, outputs
concatenated onto the inputs), so the agent sees the raw inputs as a prefix of the features.

Variable layout ('params' and 'batch_stats'): 'phi_s/hidden_<i>[_norm]',
'phi_sa/hidden_<i>[_norm]', 'predictor'. ``param_table`` on ``{'params': p['phi_s'],
'batch_stats': bs['phi_s']}`` with bn_convention='paper' gives Table 2's OFENet rows.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from largerl_jax.features.config import check_predict_dims, freeze_ofenet_config, validate_ofenet_config
from largerl_jax.networks import Torso, export_ops, kernel_initializer, torso_config, torso_out_dim
from largerl_jax.networks.torso_export import export_torso


def phi_s_torso_config(cfg):
    validate_ofenet_config(cfg)
    return torso_config(
        arch="densenet",
        width=cfg.units,
        depth=cfg.num_layers,
        activation=cfg.activation,
        batch_norm=cfg.batch_norm,
        kernel_init=cfg.kernel_init,
        bn_epsilon=cfg.bn_epsilon,
        densenet_passthrough=cfg.passthrough,
        widths=cfg.widths,
    )


def phi_sa_torso_config(cfg):
    validate_ofenet_config(cfg)
    return torso_config(
        arch="densenet",
        width=cfg.units if cfg.sa_units is None else cfg.sa_units,
        depth=cfg.num_layers if cfg.sa_num_layers is None else cfg.sa_num_layers,
        activation=cfg.activation,
        batch_norm=cfg.batch_norm,
        kernel_init=cfg.kernel_init,
        bn_epsilon=cfg.bn_epsilon,
        densenet_passthrough=cfg.passthrough,
        widths=cfg.sa_widths,
    )


def ofenet_dims(cfg, obs_dim: int, act_dim: int) -> tuple[int, int]:
    """(z_s_dim, z_sa_dim): the input widths of an agent's policy and Q networks."""
    z_s_dim = torso_out_dim(phi_s_torso_config(cfg), obs_dim)
    z_sa_dim = torso_out_dim(phi_sa_torso_config(cfg), z_s_dim + act_dim)
    return z_s_dim, z_sa_dim


class OFENet(nn.Module):
    """Call with ``train=True`` and ``mutable=['batch_stats']`` for the auxiliary loss;
    ``train=False`` reads the running statistics and changes nothing."""

    cfg: object  # ofenet_config(); stored frozen
    obs_dim: int  # fixes the predictor's width when predict_dims is None

    def __post_init__(self):
        object.__setattr__(self, "cfg", freeze_ofenet_config(self.cfg))
        check_predict_dims(self.cfg, self.obs_dim)
        super().__post_init__()

    def setup(self):
        # setup() rather than @nn.compact so that each stage is its own method, usable through
        # apply(..., method=...) without running (or needing inputs for) the others.
        self.phi_s = Torso(phi_s_torso_config(self.cfg))
        self.phi_sa = Torso(phi_sa_torso_config(self.cfg))
        self.predictor = nn.Dense(
            check_predict_dims(self.cfg, self.obs_dim), kernel_init=kernel_initializer(self.cfg.kernel_init)
        )

    # ``masks_s`` / ``masks_sa``: one gate mask per layer of phi_s / phi_sa (pruning), or None.
    def state_features(self, obs: jax.Array, train: bool = False, masks_s=None) -> jax.Array:
        return self.phi_s(obs, train=train, masks=masks_s)

    def state_action_features(self, z_s: jax.Array, action: jax.Array, train: bool = False, masks_sa=None) -> jax.Array:
        return self.phi_sa(jnp.concatenate([z_s, action], axis=-1), train=train, masks=masks_sa)

    def predict(self, z_sa: jax.Array) -> jax.Array:
        return self.predictor(z_sa)

    def __call__(self, obs: jax.Array, action: jax.Array, train: bool = False, masks_s=None, masks_sa=None):
        """(z_s, z_sa, predicted next observation)."""
        z_s = self.state_features(obs, train=train, masks_s=masks_s)
        z_sa = self.state_action_features(z_s, action, train=train, masks_sa=masks_sa)
        return z_s, z_sa, self.predict(z_sa)


def export_phi_s(p, module: OFENet, variables, x: str) -> str:
    """z_s = phi_s(obs) as export ops (batch norm with its running statistics): all a policy
    reading OFENet's features needs of it (never phi_sa, the predictor or the target copy)."""
    if not isinstance(module, OFENet):
        raise ValueError(f"cannot export feature network of type {type(module).__name__}")
    return export_torso(p, phi_s_torso_config(module.cfg), export_ops.child(variables, "phi_s"), "ofenet/phi_s", x)
