"""Learned input features for the agents: OFENet (Ota et al. 2020; Ota et al. 2021, Sec. 3.1).

Usage per agent update: ``ofe, m = ofenet_update(cfg, ofe, batch)``; the agent's networks read
``state_features(ofe, obs)`` / ``state_action_features(ofe, z_s, a)`` and, in bootstrap targets,
the same with ``target=True``. Before the first agent update, ``pretrain_ofenet`` runs
cfg.pretrain_updates updates on the warm-up data.
"""
from largerl_jax.features.config import (
    check_predict_dims,
    freeze_ofenet_config,
    ofenet_config,
    validate_ofenet_config,
)
from largerl_jax.features.ofenet import OFENet, export_phi_s, ofenet_dims, phi_s_torso_config, phi_sa_torso_config
from largerl_jax.features.pretrain import pretrain_ofenet
from largerl_jax.features.state import (
    OFEState,
    features,
    init_ofenet,
    num_layers,
    predict_next,
    state_action_features,
    state_features,
)
from largerl_jax.features.update import aux_loss, ofenet_update, ofexinet_update

__all__ = [
    "OFENet",
    "OFEState",
    "aux_loss",
    "check_predict_dims",
    "features",
    "freeze_ofenet_config",
    "init_ofenet",
    "ofenet_config",
    "ofenet_dims",
    "export_phi_s",
    "num_layers",
    "ofenet_update",
    "ofexinet_update",
    "phi_s_torso_config",
    "phi_sa_torso_config",
    "predict_next",
    "pretrain_ofenet",
    "state_action_features",
    "state_features",
    "validate_ofenet_config",
]
