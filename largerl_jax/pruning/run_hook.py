"""Pruning's side of a run (pruning paper; spec Sec. 3.6), as plain functions of the run config
that ``agents.run_hooks`` declares as the pruning run hook: whether a run prunes, the gates'
rounding update that only the run's length fixes, when the run shrinks, and under which key the
shrunk widths go into checkpoint metadata (so ``--resume`` and the tools that read a run folder
rebuild the shrunk networks before loading their arrays). The shrinking itself is
``agent_shrink``'s; the training loop sees none of this by name.
"""
from __future__ import annotations

import copy
import math

from largerl_jax.pruning.config import is_pruned, validate_pruning_config

# Checkpoint metadata key of the shrunk networks' widths ({'<network>.<widths field>': [...]}).
META_KEY = "agent_widths"


def active(cfg) -> bool:
    """Whether the run config's agent prunes."""
    return is_pruned(cfg.agent)


def rl_updates_by(cfg, env_steps: int) -> int:
    """RL updates (agent updates after warm-up, pre-training not counted) done once the run has
    taken ``env_steps`` env steps: U per iteration of N env steps past the warm-up."""
    n = cfg.env.num_envs
    return max(0, (int(env_steps) - cfg.warmup_env_steps) // n) * cfg.updates_per_iteration


def round_update_for(cfg, agent) -> int:
    """The RL update (0-based) at which the gates round: the last one taken by env step
    ``round_fraction`` x the run's env steps, so that the shrink planned there, and the
    evaluation there (which 'best score in the last 20%' counts), see rounded pi, and the units
    the rounding kills leave the arrays at that shrink rather than stay for the rest of the run."""
    return max(rl_updates_by(cfg, int(agent.pruning.round_fraction * cfg.total_env_steps)) - 1, 0)


def agent_config(cfg, agent):
    """``agent`` with the gates' rounding update (``round_update_for``) filled in when it is
    unset; a copy then, ``agent`` itself otherwise."""
    if agent.pruning.round_update is not None:
        return agent
    agent = copy.deepcopy(agent)
    agent.pruning.round_update = round_update_for(cfg, agent)
    return agent


def validate(cfg, prunable: tuple[str, ...]) -> list[str]:
    """Problems of the run's pruning settings; ``prunable``: the agent families with gates."""
    agent = cfg.agent
    problems = []
    if "pruning" in agent:
        try:
            validate_pruning_config(agent.pruning)
        except ValueError as e:
            problems.append(f"agent.{e}")
    if is_pruned(agent) and agent.name not in prunable:
        problems.append(f"agent.pruning.enabled needs an agent with XiNet gates ({', '.join(sorted(prunable))}), "
                        f"not {agent.name!r}")
    return problems


def shrink_points(cfg) -> list[int]:
    """Env steps after which the run shrinks (before its end, which always shrinks once more):
    ``pruning.shrinks`` points spread evenly over the RL phase up to the rounding, the last at
    the rounding itself. Empty without pruning."""
    if not active(cfg):
        return []
    p = cfg.agent.pruning
    start, end = cfg.warmup_env_steps, int(p.round_fraction * cfg.total_env_steps)
    return sorted({start + math.ceil((end - start) * i / p.shrinks) for i in range(1, p.shrinks + 1)} - {cfg.total_env_steps})


def due(cfg, start: int, end: int, last: bool) -> bool:
    """Whether a training chunk covering env steps (start, end] ends with a shrink."""
    return active(cfg) and (last or any(start < point <= end for point in shrink_points(cfg)))
