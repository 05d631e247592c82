"""The acting observations of a host loop over S seeds x N envs: the latest observation for
flat-observation agents, the stack of the last k frames for pixel agents (built as the frame
replay builds its stacks, ``replay.frames.push_frame``, so acting and learning see alike)."""
from __future__ import annotations

import jax
import numpy as np

from largerl_jax.replay import frames


class AgentObs:
    """``reset(obs [S, N, ...])`` and ``step(obs, episode_start [S, N])`` return what the agent
    acts on; ``stack`` None passes observations through."""

    def __init__(self, stack: int | None):
        self.stack = stack
        if stack is not None:
            self._initial = jax.jit(jax.vmap(lambda f: frames.initial_stack(f, stack)))
            self._push = jax.jit(jax.vmap(frames.push_frame))
        self._stacks = None

    def reset(self, obs: np.ndarray):
        if self.stack is None:
            return obs
        self._stacks = self._initial(obs)
        return self._stacks

    def step(self, obs: np.ndarray, episode_start: np.ndarray):
        if self.stack is None:
            return obs
        self._stacks = self._push(self._stacks, obs, episode_start)
        return self._stacks
