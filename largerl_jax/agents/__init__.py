from largerl_jax.agents.interface import Agent
from largerl_jax.agents.family import (
    AgentFamily,
    FeatureKind,
    agent_families,
    agent_family,
    carried_keys,
    feature_kind,
    feature_kinds,
    pretrain_updates,
    pruned_param_counts,
    register_agent,
    register_features,
    shrink_agent_state,
)
from largerl_jax.agents.ofe import with_ofenet
from largerl_jax.agents import obs_norm, resets, reward_norm
from largerl_jax.agents.run_hooks import RunHook, register_run_hook, run_hooks
from largerl_jax.agents.configs import (
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
from largerl_jax.agents import bro, crossq, fast_sac, fast_td3, simba, simbav2  # noqa: F401  (register their families)
from largerl_jax.networks.trainable import Net


def make_agent(cfg, obs_dim: int, act_dim: int, frame_shape=None) -> Agent:
    """Builds the agent of the family named by ``cfg.name`` (see agents.family) from its config,
    on the features its ``cfg.features`` names, with resets when ``cfg.resets.at_env_steps``
    (agents.resets), reward scaling when ``cfg.reward_norm.enabled`` (agents.reward_norm), behind
    a running observation normaliser when ``cfg.obs_norm.enabled`` (agents.obs_norm). ``frame_shape``: one frame [H, W, c] of a pixel
    env (EnvSpec.frame_shape), None otherwise."""
    family = agent_family(cfg.name)
    problems = (obs_norm.validate(cfg, family.reads_frames) + resets.validate(cfg, family.reads_frames)
                + reward_norm.validate(cfg, family.reads_frames))
    if problems:
        raise ValueError("; ".join(problems))
    if family.reads_frames:
        return family.make(cfg, obs_dim, act_dim, frame_shape)
    if frame_shape is not None:
        readers = sorted(n for n, f in agent_families().items() if f.reads_frames)
        raise ValueError(f"agent {cfg.name!r} reads flat observations, not pixels; use agent {' or '.join(readers)}")
    kind = feature_kind(cfg.get("features", "raw"))
    agent = family.make(cfg, obs_dim, act_dim) if kind.wrap is None else kind.wrap(family.make, cfg, obs_dim, act_dim)
    agent = resets.with_resets(agent, cfg) if resets.enabled(cfg) else agent
    agent = reward_norm.with_reward_norm(agent, cfg) if reward_norm.enabled(cfg) else agent
    return obs_norm.with_obs_norm(agent, cfg, obs_dim) if obs_norm.enabled(cfg) else agent


__all__ = [
    "Agent",
    "AgentFamily",
    "FeatureKind",
    "Net",
    "agent_config",
    "agent_families",
    "agent_family",
    "carried_keys",
    "feature_kind",
    "feature_kinds",
    "make_agent",
    "make_sac",
    "make_sac_pixels",
    "make_sac_v1",
    "make_td3",
    "pretrain_updates",
    "pruned_param_counts",
    "register_agent",
    "register_features",
    "register_run_hook",
    "RunHook",
    "run_hooks",
    "sac_config",
    "sac_pixels_config",
    "sac_v1_config",
    "shrink_agent_state",
    "td3_config",
]
