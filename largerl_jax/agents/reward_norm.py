"""SimbaV2's reward scaling around any agent of flat observations: rewards in every sampled batch
divided by max(sqrt(var_G + eps), G_max / g_max), where G is each env's running discounted
return G <- gamma (1 - done) G + r, var_G the running variance of the G values seen and G_max the
largest |G| seen (dojeon-ai/SimbaV2, scale_rl/agents/wrappers/normalization.py RewardNormalizer;
configs/agent/simbaV2.yaml normalized_g_max 5). The scale keeps the scaled returns within
[-g_max, g_max] roughly, the support of SimbaV2's categorical critic.

The statistics live in the agent's state (G [N] per env, running statistics of G, G_max) and
take in every stored env step through ``Agent.observe`` (warm-up included, as the code's wrapper
updates them on every training step); evaluation never changes them, and a policy does not read
them, so an export has nothing to bake in. ``num_envs`` (the envs per seed, G's length) is
filled from the run's ``env.num_envs`` by the 'reward_norm' run hook (agents/run_hooks.py).

Config (``agent.reward_norm``, agents.configs.reward_norm_config): ``enabled``, ``g_max``,
``eps``, ``num_envs``.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from largerl_jax.agents import interface
from largerl_jax.networks.running_stats import RunningStats, init_stats, update_stats
from largerl_jax.pruning.config import is_pruned


@struct.dataclass
class RewardNormState:
    agent: Any
    returns: jax.Array  # [N] running discounted return of each env
    return_stats: RunningStats  # of the returns seen, dim 1
    return_max: jax.Array  # largest |G| seen


def enabled(agent_cfg) -> bool:
    norm = agent_cfg.get("reward_norm")
    return bool(norm is not None and norm.enabled)


def scale(state: RewardNormState, g_max: float, eps: float):
    """The divisor of the rewards: max(sqrt(var_G + eps), G_max / g_max)."""
    return jnp.maximum(jnp.sqrt(state.return_stats.var[0] + eps), state.return_max / g_max)


def validate(agent_cfg, reads_frames: bool) -> list[str]:
    if not enabled(agent_cfg):
        return []
    norm = agent_cfg.reward_norm
    problems = [f"agent.reward_norm.{k}={norm[k]!r} must be a positive number" for k in ("g_max", "eps")
                if isinstance(norm[k], bool) or not isinstance(norm[k], (int, float)) or not norm[k] > 0]
    if reads_frames:
        problems.append(f"agent.reward_norm is for agents of flat observations; agent {agent_cfg.name!r} reads pixels")
    if is_pruned(agent_cfg):
        problems.append("agent.reward_norm with agent.pruning.enabled is not supported (shrinking reads the bare "
                        "agent state)")
    return problems


def with_reward_norm(agent: interface.Agent, agent_cfg) -> interface.Agent:
    norm = agent_cfg.reward_norm
    g_max, eps, gamma = float(norm.g_max), float(norm.eps), agent_cfg.gamma
    num_envs = int(norm.num_envs)
    if num_envs < 1:
        raise ValueError("agent.reward_norm.num_envs is unset: build the agent through a run (its run hook sets it)")

    def init(key):
        return RewardNormState(agent=agent.init(key), returns=jnp.zeros((num_envs,), jnp.float32),
                               return_stats=init_stats(1), return_max=jnp.float32(0.0))

    def observe(state, trans):
        inner = state.agent if agent.observe is None else agent.observe(state.agent, trans)
        done = jnp.maximum(trans.terminated, trans.truncated)
        returns = gamma * (1.0 - done) * state.returns + trans.reward
        return state.replace(agent=inner, returns=returns, return_stats=update_stats(state.return_stats, returns[:, None]),
                             return_max=jnp.maximum(state.return_max, jnp.max(jnp.abs(returns))))

    def scaled(state, batch):
        divisor = scale(state, g_max, eps)
        if batch.steps is not None:  # an n-step batch (replay.nstep): every step's reward scaled alike
            batch = batch.replace(rewards=batch.rewards / divisor)
        return batch.replace(reward=batch.reward / divisor)

    def update(state, batch, key, weights=None):
        inner, metrics = agent.update(state.agent, scaled(state, batch), key, weights=weights)
        return state.replace(agent=inner), {**metrics, "reward_scale_divisor": scale(state, g_max, eps)}

    return interface.around(agent, init, batch=scaled, update=update, observe=observe)
