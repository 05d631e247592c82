"""Learning-rate schedules from the agent config (``agent.lr_schedule``), applied to every
network's step of the agents that read it (SAC and its families; BRO).

``kind`` 'constant' (the default: the 2021 papers, SimBa, BRO) or 'linear': the rate moves
linearly from lr to ``end_factor`` x lr over ``decay_updates`` updates of the agent and stays
there, as optax.linear_schedule (SimbaV2: 1e-4 to 5e-5 over the whole run,
dojeon-ai/SimbaV2 scale_rl/agents/simbaV2/simbaV2_agent.py and configs/agent/simbaV2.yaml).
``decay_updates`` 0 means the run's own number of updates, which the 'lr_schedule' run hook
(agents/run_hooks.py) fills in from the run's budget, so a shorter or longer run decays over
its own length.
"""
from __future__ import annotations

import jax.numpy as jnp
import ml_collections

KINDS = ("constant", "linear")


def lr_schedule_config() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"kind": "constant", "end_factor": 1.0, "decay_updates": 0})


def is_scheduled(agent_cfg) -> bool:
    schedule = agent_cfg.get("lr_schedule")
    return schedule is not None and schedule.kind != "constant"


def factor(agent_cfg, step):
    """The schedule's factor on every learning rate at agent update ``step`` (0-based)."""
    s = agent_cfg.lr_schedule
    progress = jnp.clip(step / max(int(s.decay_updates), 1), 0.0, 1.0)
    return 1.0 + (s.end_factor - 1.0) * progress


def at(agent_cfg, lr, step):
    """``lr`` at update ``step``; ``lr`` itself (the same program) without a schedule."""
    return lr * factor(agent_cfg, step) if is_scheduled(agent_cfg) else lr


def scale_updates(agent_cfg, updates, step):
    """An optimizer's ``updates`` scaled by the schedule (Adam's step is linear in its rate):
    for optimizers built with their rate, such as a temperature's."""
    return updates * factor(agent_cfg, step) if is_scheduled(agent_cfg) else updates


def validate(agent_cfg) -> list[str]:
    s = agent_cfg.get("lr_schedule")
    if s is None:
        return []
    if s.kind not in KINDS:
        return [f"agent.lr_schedule.kind={s.kind!r} not one of {list(KINDS)}"]
    if isinstance(s.end_factor, bool) or not isinstance(s.end_factor, (int, float)) or not s.end_factor >= 0:
        return [f"agent.lr_schedule.end_factor={s.end_factor!r} must be a number >= 0"]
    if isinstance(s.decay_updates, bool) or not isinstance(s.decay_updates, int) or s.decay_updates < 0:
        return [f"agent.lr_schedule.decay_updates={s.decay_updates!r} must be an int >= 0 (0: the run's updates)"]
    return []
