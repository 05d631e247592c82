"""The trained deterministic policy of one seed of a finished (or interrupted) run folder."""
from __future__ import annotations

from typing import Callable

import jax

from largerl_jax.training.run_folder import RunFolder

__all__ = ["load_policy"]


def load_policy(run: RunFolder, seed_index: int) -> tuple[Callable, dict]:
    """(``policy(obs [N, obs_dim]) -> action [N, act_dim]``, checkpoint meta) of seed
    ``seed_index`` of ``run``, from its newest complete checkpoint (see training.run_folder)."""
    restored = run.restore(seed_index)
    agent, agent_state = restored.agent, restored.state
    act = jax.jit(lambda state, obs: agent.act(state, obs, jax.random.PRNGKey(0), True))
    return (lambda obs: act(agent_state, obs)), restored.meta
