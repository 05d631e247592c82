"""Run hooks: what a method does to a run on the host, between its compiled chunks, declared here
so that the training loop calls every hook the same way and names none (``training.run_hooks``).

A ``RunHook`` may fill in agent settings that only the run's length fixes, validate the run
config, reshape the agent after a training chunk (its state and agent-config overrides, such as
smaller widths: the loop then rebuilds its compiled programs for them), add per-seed statistics
to every evaluation record, and keeps its overrides in checkpoint metadata under ``meta_key`` so
a resumed run, and every tool that reopens a run folder, rebuilds the reshaped agent. XiNet
pruning is the first (``pruning.run_hook``: shrinking the pruned units away during training);
the learning-rate schedule's is another (a linear decay over the run's own updates).
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Callable

from largerl_jax.agents import lr_schedule, reward_norm
from largerl_jax.agents.family import agent_families, pruned_param_counts, register_in, shrink_agent_state
from largerl_jax.pruning import run_hook as pruning_run


@dataclasses.dataclass(frozen=True)
class RunHook:
    name: str
    active: Callable  # (run cfg) -> whether the hook acts on this run
    meta_key: str  # checkpoint metadata key of its agent-config overrides
    agent_config: Callable | None = None  # (run cfg, agent cfg) -> agent cfg with run-level values
    validate: Callable | None = None  # (run cfg) -> problems (called on every run, active or not)
    due: Callable | None = None  # (run cfg, start, end, last) -> whether to reshape after this chunk
    # (run cfg, seed-batched agent state, obs_dim, act_dim) -> (agent state, {dotted agent cfg
    # key: value}): the state of the agent rebuilt with those overrides
    reshape: Callable | None = None
    evaluation: Callable | None = None  # (run cfg, agent state, obs_dim, act_dim) -> {name: [rows]}


_HOOKS: dict[str, RunHook] = {}


def register_run_hook(hook: RunHook) -> RunHook:
    return register_in(_HOOKS, "run hook", hook)


def run_hooks() -> tuple[RunHook, ...]:
    return tuple(_HOOKS.values())


def _prunable() -> tuple[str, ...]:
    return tuple(n for n, f in agent_families().items() if f.prunable)


PRUNING = register_run_hook(RunHook(
    name="pruning",
    active=pruning_run.active,
    meta_key=pruning_run.META_KEY,
    agent_config=pruning_run.agent_config,
    validate=lambda cfg: pruning_run.validate(cfg, _prunable()),
    due=pruning_run.due,
    reshape=lambda cfg, state, obs_dim, act_dim: shrink_agent_state(
        pruning_run.agent_config(cfg, cfg.agent), state, obs_dim, act_dim),
    evaluation=lambda cfg, state, obs_dim, act_dim: pruned_param_counts(cfg.agent, state, obs_dim, act_dim),
))


def _with_run_decay(cfg, agent):
    """``agent`` with a linear schedule's ``decay_updates`` 0 replaced by the run's updates."""
    agent = copy.deepcopy(agent)
    agent.lr_schedule.decay_updates = pruning_run.rl_updates_by(cfg, cfg.total_env_steps)
    return agent


LR_SCHEDULE = register_run_hook(RunHook(
    name="lr_schedule",
    active=lambda cfg: lr_schedule.is_scheduled(cfg.agent) and not cfg.agent.lr_schedule.decay_updates,
    meta_key="lr_schedule",
    agent_config=_with_run_decay,
))


def _with_run_envs(cfg, agent):
    """``agent`` with the reward scale's per-env returns sized for the run's envs per seed."""
    agent = copy.deepcopy(agent)
    agent.reward_norm.num_envs = int(cfg.env.num_envs)
    return agent


REWARD_NORM = register_run_hook(RunHook(
    name="reward_norm",
    active=lambda cfg: reward_norm.enabled(cfg.agent),
    meta_key="reward_norm",
    agent_config=_with_run_envs,
))



def _with_noise_envs(cfg, agent):
    """``agent`` with one exploration-noise scale per env of the run (agents.env_noise)."""
    agent = copy.deepcopy(agent)
    agent.env_noise.num_envs = int(cfg.env.num_envs)
    return agent


ENV_NOISE = register_run_hook(RunHook(
    name="env_noise",
    active=lambda cfg: "env_noise" in cfg.agent,
    meta_key="env_noise",
    agent_config=_with_noise_envs,
))
