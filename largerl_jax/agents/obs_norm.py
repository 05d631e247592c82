"""Running observation normalisation around any agent of flat observations (SimBa, SimbaV2).

The wrapped agent's state is (inner state, running statistics of the observations). Observations
are stored raw in the replay and normalised where they are read: when acting, and on both
``obs`` and ``next_obs`` of every sampled batch, so a batch drawn late in training is normalised
with the current statistics (SimBa's ``ObservationNormalizer``, SonyResearch/simba,
scale_rl/agents/wrappers/normalization.py). The statistics take in every observation the agent
acts on, random warm-up steps included (SimBa's run.py feeds them to the wrapper before its
buffer can sample), through ``Agent.observe``, which the learner calls when it stores the step's
transitions. One departure, ours: SimBa updates the statistics just before acting on an
observation, we just after (acting is read-only here, see training.host_loop); the acting
normalisation lags by one env step. Evaluation reads the statistics and never changes them, and
an export bakes them in as the policy's first op.

Config: ``agent.obs_norm`` (agents.configs.obs_norm_config).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from flax import struct

from largerl_jax.agents import interface
from largerl_jax.networks.running_stats import RunningStats, init_stats, normalize, update_stats
from largerl_jax.pruning.config import is_pruned


def enabled(agent_cfg) -> bool:
    norm = agent_cfg.get("obs_norm")
    return bool(norm is not None and norm.enabled)


@struct.dataclass
class ObsNormState:
    agent: Any
    obs_stats: RunningStats


def validate(agent_cfg, reads_frames: bool) -> list[str]:
    """Problems of ``agent.obs_norm`` for an agent (empty when it is off or fine)."""
    if not enabled(agent_cfg):
        return []
    norm = agent_cfg.obs_norm
    problems = [f"agent.obs_norm.{k}={norm[k]!r} must be a positive number" for k in ("eps", "initial_count")
                if isinstance(norm[k], bool) or not isinstance(norm[k], (int, float)) or not norm[k] > 0]
    if reads_frames:
        problems.append(f"agent.obs_norm is for flat observations; agent {agent_cfg.name!r} reads pixels")
    if is_pruned(agent_cfg):
        problems.append("agent.obs_norm with agent.pruning.enabled is not supported (shrinking reads the bare "
                        "agent state)")
    return problems


def with_obs_norm(agent: interface.Agent, agent_cfg, obs_dim: int) -> interface.Agent:
    """``agent`` reading normalised observations (see the module docstring)."""
    eps, initial_count = float(agent_cfg.obs_norm.eps), float(agent_cfg.obs_norm.initial_count)

    def norm(state: ObsNormState, obs):
        return normalize(state.obs_stats, obs, eps)

    def norm_batch(state: ObsNormState, batch):
        return batch.replace(obs=norm(state, batch.obs), next_obs=norm(state, batch.next_obs))

    def init(key):
        return ObsNormState(agent=agent.init(key), obs_stats=init_stats(obs_dim, initial_count))

    def act(state, obs, key, deterministic: bool):
        return agent.act(state.agent, norm(state, obs), key, deterministic)

    def observe(state, trans):
        inner = state.agent if agent.observe is None else agent.observe(state.agent, trans)
        return state.replace(agent=inner, obs_stats=update_stats(state.obs_stats, trans.obs))

    def export(p, state, x):
        stats = state.obs_stats
        ones, zeros = np.ones(obs_dim, np.float32), np.zeros(obs_dim, np.float32)
        z = p.op("batch_norm", x, mean=p.array("obs_norm/mean", stats.mean), var=p.array("obs_norm/var", stats.var),
                 scale=p.array("obs_norm/scale", ones), bias=p.array("obs_norm/bias", zeros), eps=eps)
        return agent.export(p, state.agent, z)

    return interface.around(agent, init, batch=norm_batch, act=act, observe=observe,
                            export=None if agent.export is None else export)
