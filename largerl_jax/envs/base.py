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
    # [N, 2] raw PRNG key of each env for its resets. Every leaf leads with the env axis and each
    # env's randomness is its own, so the envs of S seeds can be stepped as one batch of S*N
    # (``fold_envs``) with the same results as S separate batches.
    key: jax.Array
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
    # pixel envs: one frame [H, W, c] uint8 (obs_dim = H * W * c); None for flat float observations
    frame_shape: tuple[int, ...] | None = None


class JaxVecEnv(Protocol):
    spec: EnvSpec
    num_envs: int

    def reset(self, key: jax.Array) -> EnvState:
        """``num_envs`` fresh envs, each with its own key split from ``key``."""
        ...

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        """Step every env of ``state`` (any number: the batch size is read from the state, so
        folded multi-seed batches work); envs whose episode ended are reset in the returned
        state, and only when some env of the batch ended does reset physics run."""
        ...


def env_keys(key: jax.Array, num_envs: int) -> jax.Array:
    """Per-env raw keys [N, 2] from one key."""
    return jax.random.split(key, num_envs)


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Each key of a batch [B, 2] split in two: (next keys, keys for this step's draw), e.g. each
    env's reset draw or each seed's action draw."""
    pairs = jax.vmap(jax.random.split)(keys)
    return pairs[:, 0], pairs[:, 1]


def fold_envs(tree):
    """[S, N, ...] -> [S*N, ...] on every leaf: the envs of S seeds as one batch."""
    # explicit sizes, not -1: Brax states hold zero-size leaves
    return jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), tree)


def unfold_envs(tree, num_seeds: int):
    """Inverse of ``fold_envs``."""
    return jax.tree.map(lambda x: x.reshape((num_seeds, x.shape[0] // num_seeds) + x.shape[1:]), tree)


class HostVecEnv(Protocol):
    spec: EnvSpec
    num_envs: int
    steps_on_host: bool  # True: what tells a host env from a JaxVecEnv (envs.is_host_env)

    def reset(self, seed: int) -> Any:  # np.ndarray [N, obs_dim]
        ...

    def step(self, action: Any) -> tuple[Any, dict]:
        """Returns (obs after auto-reset [N, obs_dim], dict of NumPy arrays with the
        StepResult fields: next_obs, reward, terminated, truncated)."""
        ...

    def close(self) -> None: ...
