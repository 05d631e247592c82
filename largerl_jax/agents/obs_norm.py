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

FastTD3 and FastSAC (``form='std_plus'``: (x - mean) / (std + 0.01), EmpiricalNormalization in
fast_td3/fast_td3_utils.py and holosoma's agents/fast_sac) also take in every sampled batch
(``from_batches``): each update first adds the batch's observations to the statistics, then
normalises them, then its next observations likewise, as their ``normalize_obs(obs)`` and
``normalize_obs(next_obs)`` calls do in training mode. FastSAC does not take in the acting
observations (``from_acting=False``).

Config: ``agent.obs_norm`` (agents.configs.obs_norm_config).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from flax import struct

import jax.numpy as jnp

from largerl_jax.agents import interface
from largerl_jax.networks.running_stats import RunningStats, init_stats, update_stats
from largerl_jax.pruning.config import is_pruned


FORMS = ("sqrt_var", "std_plus")


def settings(agent_cfg) -> dict:
    """``agent.obs_norm`` with the defaults of keys that configs saved before they existed lack."""
    norm = agent_cfg.obs_norm
    return {"eps": norm.eps, "initial_count": norm.initial_count, "form": norm.get("form", "sqrt_var"),
            "from_acting": norm.get("from_acting", True), "from_batches": norm.get("from_batches", False)}


def divide(stats: RunningStats, x, eps: float, form: str):
    """Normalised ``x`` (see FORMS and agents.configs.obs_norm_config)."""
    if form == "sqrt_var":
        return (x - stats.mean) / jnp.sqrt(stats.var + eps)
    return (x - stats.mean) / (jnp.sqrt(stats.var) + eps)


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
    norm = settings(agent_cfg)

    def bad(k, low_ok):
        v = norm[k]
        return isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 if low_ok else v > 0)

    problems = [f"agent.obs_norm.eps={norm['eps']!r} must be a positive number"] if bad("eps", False) else []
    if bad("initial_count", True):
        problems.append(f"agent.obs_norm.initial_count={norm['initial_count']!r} must be a number >= 0")
    if norm["form"] not in FORMS:
        problems.append(f"agent.obs_norm.form={norm['form']!r} must be one of {list(FORMS)}")
    for k in ("from_acting", "from_batches"):
        if not isinstance(norm[k], bool):
            problems.append(f"agent.obs_norm.{k}={norm[k]!r} must be True or False")
    if norm["from_acting"] is False and norm["from_batches"] is False:
        problems.append("agent.obs_norm takes in nothing: set from_acting or from_batches")
    if reads_frames:
        problems.append(f"agent.obs_norm is for flat observations; agent {agent_cfg.name!r} reads pixels")
    if is_pruned(agent_cfg):
        problems.append("agent.obs_norm with agent.pruning.enabled is not supported (shrinking reads the bare "
                        "agent state)")
    return problems


def with_obs_norm(agent: interface.Agent, agent_cfg, obs_dim: int) -> interface.Agent:
    """``agent`` reading normalised observations (see the module docstring)."""
    opts = settings(agent_cfg)
    eps, initial_count, form = float(opts["eps"]), float(opts["initial_count"]), opts["form"]

    def norm(state: ObsNormState, obs):
        return divide(state.obs_stats, obs, eps, form)

    def norm_batch(state: ObsNormState, batch):
        return batch.replace(obs=norm(state, batch.obs), next_obs=norm(state, batch.next_obs))

    def init(key):
        return ObsNormState(agent=agent.init(key), obs_stats=init_stats(obs_dim, initial_count))

    def act(state, obs, key, deterministic: bool):
        return agent.act(state.agent, norm(state, obs), key, deterministic)

    def observe(state, trans):
        inner = state.agent if agent.observe is None else agent.observe(state.agent, trans)
        stats = update_stats(state.obs_stats, trans.obs) if opts["from_acting"] else state.obs_stats
        return state.replace(agent=inner, obs_stats=stats)

    def update_from_batch(state, batch, key, **kwargs):
        """Takes in the batch's obs, normalises them, then its next_obs likewise, then updates."""
        stats = update_stats(state.obs_stats, batch.obs)
        obs = divide(stats, batch.obs, eps, form)
        stats = update_stats(stats, batch.next_obs)
        batch = batch.replace(obs=obs, next_obs=divide(stats, batch.next_obs, eps, form))
        inner, metrics = agent.update(state.agent, batch, key, **kwargs)
        return state.replace(agent=inner, obs_stats=stats), metrics

    def export(p, state, x):
        stats = state.obs_stats
        zeros = np.zeros(obs_dim, np.float32)
        if form == "sqrt_var":
            mean, var, scale, bn_eps = stats.mean, stats.var, np.ones(obs_dim, np.float32), eps
        else:  # (x - mean) / (std + eps) as a batch norm of unit variance scaled by 1 / (std + eps)
            mean, var, bn_eps = stats.mean, np.ones(obs_dim, np.float32), 0.0
            scale = 1.0 / (np.sqrt(np.asarray(stats.var, np.float32)) + np.float32(eps))
        z = p.op("batch_norm", x, mean=p.array("obs_norm/mean", mean), var=p.array("obs_norm/var", var),
                 scale=p.array("obs_norm/scale", scale), bias=p.array("obs_norm/bias", zeros), eps=bn_eps)
        return agent.export(p, state.agent, z)

    own = {"update": update_from_batch} if opts["from_batches"] else {}
    return interface.around(agent, init, batch=norm_batch, act=act, observe=observe,
                            export=None if agent.export is None else export, **own)
