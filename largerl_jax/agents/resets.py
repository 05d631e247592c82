"""Resets at configured env steps around any agent (BRO's full resets; Nikishin et al. 2022's
primacy-bias resets): when an iteration's env-step count crosses one of ``at_env_steps``, the
chosen fields of the agent's state (``fields``; empty: all of it, networks, optimizer states,
temperature and counters) go back to their initial values, per seed, inside the compiled
program (a select, so every seed of a vmapped run stays in one program).

The re-initialisation draws with the key of the agent's first initialisation, so a reset
restores exactly the initial weights, as BRO's code does (``reset`` calls ``init_models(seeds)``
again; naumix/BiggerRegularizedOptimistic, jaxrl/bro/bro_learner.py). The wrapped state is
(inner state, that key). The key never changes, so the initialisation is invariant in the
compiled loop, where XLA computes it once; keeping a copy of the initial state instead was
slower (pendulum_bro_fast, 3 seeds, 4K env steps: 124-125 s against 106-108 s, same results,
2-core dev VM, 2026-12-06) and doubles the state in memory and checkpoints.

Config (``agent.resets``, agents.configs.resets_config): ``at_env_steps`` (env steps, counted as
every ``*_env_steps`` field: stored transitions of all envs), ``fields``.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from largerl_jax.agents import interface
from largerl_jax.networks import trainable
from largerl_jax.pruning.config import is_pruned


@struct.dataclass
class ResetState:
    agent: Any
    init_key: jax.Array


def enabled(agent_cfg) -> bool:
    resets = agent_cfg.get("resets")
    return bool(resets is not None and resets.at_env_steps)


def validate(agent_cfg, reads_frames: bool) -> list[str]:
    if agent_cfg.get("resets") is None:
        return []
    steps, fields = agent_cfg.resets.at_env_steps, agent_cfg.resets.fields
    if not isinstance(steps, (tuple, list)) or not all(isinstance(s, int) and s > 0 for s in steps):
        return [f"agent.resets.at_env_steps={steps!r} must be a list of positive env steps"]
    if not isinstance(fields, (tuple, list)) or not all(isinstance(f, str) for f in fields):
        return [f"agent.resets.fields={fields!r} must be a list of agent-state field names"]
    if steps and reads_frames:
        return [f"agent.resets is for agents of flat observations; agent {agent_cfg.name!r} reads pixels"]
    if steps and is_pruned(agent_cfg):
        return ["agent.resets with agent.pruning.enabled is not supported (shrinking reads the bare agent state)"]
    return []


def due(at_env_steps, before, after) -> jax.Array:
    """Whether (before, after] holds one of ``at_env_steps``."""
    steps = jnp.asarray(at_env_steps, jnp.int32)
    return jnp.any((before < steps) & (steps <= after))


def with_resets(agent: interface.Agent, agent_cfg) -> interface.Agent:
    at_env_steps = tuple(int(s) for s in agent_cfg.resets.at_env_steps)
    fields = tuple(agent_cfg.resets.fields)

    def init(key):
        inner = agent.init(key)
        unknown = [f for f in fields if not hasattr(inner, f)]
        if unknown:
            raise ValueError(f"agent.resets.fields {unknown} are not fields of the {agent.name} agent's state")
        return ResetState(agent=inner, init_key=key)

    def after_store(state, before, after):
        inner = state.agent if agent.after_store is None else agent.after_store(state.agent, before, after)
        fresh = agent.init(state.init_key)
        if fields:
            fresh = inner.replace(**{f: getattr(fresh, f) for f in fields})
        return state.replace(agent=trainable.select(due(at_env_steps, before, after), fresh, inner))

    return interface.around(agent, init, after_store=after_store)
