"""One small interface for every environment family.

Two kinds of vectorized environment exist:

* ``JaxVecEnv`` (pure-JAX Pendulum, Brax/MJX): ``reset`` and ``step`` are pure functions of an
  explicit ``EnvState`` pytree, so they run inside ``jit``/``scan``/``vmap`` and the env state is
  part of the train state (checkpointed, vmapped over seeds).
* ``HostVecEnv`` (Gymnasium MuJoCo on the CPU): stateful Python objects stepped from the host
  loop with NumPy arrays; used for numbers comparable with the papers.

Both take actions in ``[-1, 1]^act_dim`` and rescale to the task's bounds internally, and both
auto-reset finished episodes while reporting the *true* final observation, so the learner can
bootstrap through time-limit truncations and not through terminations.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax
from flax import struct


@struct.dataclass
class EnvState:
    """Batched state of ``num_envs`` environments (leading axis = env)."""

    obs: jax.Array  # [N, obs_dim] observation the agent acts on (after any auto-reset)
    t: jax.Array  # [N] int32 steps taken in the current episode
    key: jax.Array  # PRNG key for resets
    inner: Any  # backend-specific physics state (Brax State, pendulum (theta, thetadot), ...)


@struct.dataclass
class StepResult:
    """What one batched step produced, everything with leading axis N."""

    next_obs: jax.Array  # [N, obs_dim] true next observation (before auto-reset): bootstrap from it
    reward: jax.Array  # [N] float32
    terminated: jax.Array  # [N] float32 1.0 when the MDP ended (no bootstrap)
    truncated: jax.Array  # [N] float32 1.0 when the time limit cut the episode (bootstrap)
    # [N] float32 1.0 when the simulator produced a non-finite obs/reward: that step is reported
    # as terminated with zeroed obs/reward and the env reset. The trainer counts these
    # (metric env_invalid_steps) and warns, so a guarded blow-up is never silent.
    invalid: jax.Array


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    name: str
    obs_dim: int
    act_dim: int
    episode_length: int  # time limit in agent steps


class JaxVecEnv(Protocol):
    spec: EnvSpec
    num_envs: int

    def reset(self, key: jax.Array) -> EnvState: ...

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        """Step all N envs; envs whose episode ended are reset in the returned state."""
        ...


class HostVecEnv(Protocol):
    spec: EnvSpec
    num_envs: int

    def reset(self, seed: int) -> Any:  # np.ndarray [N, obs_dim]
        ...

    def step(self, action: Any) -> tuple[Any, dict]:
        """Returns (obs after auto-reset [N, obs_dim], dict of NumPy arrays with the
        StepResult fields: next_obs, reward, terminated, truncated)."""
        ...

    def close(self) -> None: ...
