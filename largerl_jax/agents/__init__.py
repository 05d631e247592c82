from largerl_jax.agents.common import Agent
from largerl_jax.agents.ofe import with_ofenet
from largerl_jax.agents.configs import (
    AGENT_CONFIGS,
    agent_config,
    sac_config,
    sac_pixels_config,
    sac_v1_config,
    td3_config,
)
from largerl_jax.agents.sac import make_sac
from largerl_jax.agents.sac_pixels import make_sac_pixels
from largerl_jax.agents.sac_v1 import make_sac_v1
from largerl_jax.agents.td3 import make_td3
from largerl_jax.networks.trainable import Net

_MAKERS = {"sac": make_sac, "sac_v1": make_sac_v1, "td3": make_td3}


def make_agent(cfg, obs_dim: int, act_dim: int, frame_shape=None) -> Agent:
    """Builds the agent named by ``cfg.name`` from its config (see agents.configs).
    ``frame_shape``: one frame [H, W, c] of a pixel env (EnvSpec.frame_shape), None otherwise."""
    if cfg.name == "sac_pixels":
        return make_sac_pixels(cfg, obs_dim, act_dim, frame_shape)
    if frame_shape is not None:
        raise ValueError(f"agent {cfg.name!r} reads flat observations, not pixels; use agent sac_pixels")
    if cfg.name not in _MAKERS:
        raise ValueError(f"unknown agent {cfg.name!r}; available: {sorted([*_MAKERS, 'sac_pixels'])}")
    features = cfg.get("features", "raw")
    if features == "raw":
        return _MAKERS[cfg.name](cfg, obs_dim, act_dim)
    if features == "ofenet":
        return with_ofenet(_MAKERS[cfg.name], cfg, obs_dim, act_dim)
    raise ValueError(f"agent.features must be 'raw' or 'ofenet', got {features!r}")


__all__ = [
    "AGENT_CONFIGS",
    "Agent",
    "Net",
    "agent_config",
    "make_agent",
    "make_sac",
    "make_sac_pixels",
    "make_sac_v1",
    "make_td3",
    "sac_config",
    "sac_pixels_config",
    "sac_v1_config",
    "td3_config",
]
