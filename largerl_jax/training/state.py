"""The one pytree that holds everything a run mutates, for a single seed.

A multi-seed run vmaps it (every leaf gets a leading seed axis); checkpoints save it whole, so a
resumed run continues bit-for-bit where it stopped (for on-device envs).
"""
from __future__ import annotations

from typing import Any

import jax
from flax import struct

from largerl_jax.replay import ReplayBuffer


@struct.dataclass
class TrainState:
    agent: Any  # the agent's own state pytree: params, optimizer states, targets, carried net state
    replay: ReplayBuffer
    env: Any  # EnvState for on-device envs; None for host (Gymnasium) envs
    key: jax.Array  # raw uint32 PRNG key (checkpoint-friendly)
    env_steps: jax.Array  # int32, summed over the N parallel envs
    grad_steps: jax.Array  # int32
    # [N] running return of each env's current training episode; None for host (Gymnasium) envs,
    # whose running returns live on the host next to the envs themselves
    episode_return: jax.Array | None
    # Divergence isolation (see training.learner.Learner): a diverged seed keeps its last finite
    # agent state; diverged_at is the env step of the first non-finite quantity (-1: none) and
    # diverged_what its index into Learner.quantity_names (-1: none).
    diverged: jax.Array  # bool
    diverged_at: jax.Array  # int32
    diverged_what: jax.Array  # int32
    # Scalar hyperparameters carried for a grid search (see training.hyperparams): a nested
    # dict of float32 like the config's ({'agent': {'gamma': ...}}); None when none are.
    hparams: Any = None
