"""The trained deterministic policy of one seed of a finished (or interrupted) run folder."""
from __future__ import annotations

from typing import Callable

import jax

from largerl_jax.training.restore import best_seed_index, restore_agent

__all__ = ["best_seed_index", "load_policy"]


def load_policy(cfg, workdir: str, num_seeds: int, seed_index: int) -> tuple[Callable, dict]:
    """(``policy(obs [N, obs_dim]) -> action [N, act_dim]``, checkpoint meta) of seed
    ``seed_index`` of the run of ``cfg`` with ``num_seeds`` seeds, from its newest complete
    checkpoint (see training.restore)."""
    restored = restore_agent(cfg, workdir, num_seeds, seed_index)
    agent, agent_state = restored.agent, restored.state
    act = jax.jit(lambda state, obs: agent.act(state, obs, jax.random.PRNGKey(0), True))
    return (lambda obs: act(agent_state, obs)), restored.meta
