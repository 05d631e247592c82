"""Uniform ring-buffer replay that lives on the device inside the train state.

All arrays are preallocated at ``capacity`` so the buffer is a fixed-shape pytree: insertion and
sampling are pure functions usable inside ``jit``/``scan``/``vmap``.

Memory: one transition stores ``obs`` and ``next_obs`` (``2 * obs_dim``), ``action`` (``act_dim``),
``reward``, ``terminated`` and ``truncated`` (3 scalars), all float32, so

    bytes_per_transition = 4 * (2 * obs_dim + act_dim + 3)

e.g. MJX Ant (27 obs, 8 act): 260 B, 1M transitions = 260 MB per seed; Gymnasium Ant-v4
(111 obs): 932 B, 1M = 932 MB per seed. ``bytes_per_transition`` computes it.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Transition:
    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array  # 1.0: no bootstrap from next_obs
    truncated: jax.Array  # kept for diagnostics; the target bootstraps through it


@struct.dataclass
class ReplayBuffer:
    data: Transition  # every leaf has leading axis ``capacity``
    insert_pos: jax.Array  # int32 scalar: next slot to write
    size: jax.Array  # int32 scalar: number of valid slots

    @property
    def capacity(self) -> int:
        return self.data.reward.shape[0]


def bytes_per_transition(obs_dim: int, act_dim: int) -> int:
    return 4 * (2 * obs_dim + act_dim + 3)


def init_buffer(capacity: int, obs_dim: int, act_dim: int) -> ReplayBuffer:
    if capacity <= 0:
        raise ValueError(f"replay capacity must be positive, got {capacity}")
    z = lambda *shape: jnp.zeros((capacity, *shape), jnp.float32)
    data = Transition(
        obs=z(obs_dim),
        action=z(act_dim),
        reward=z(),
        next_obs=z(obs_dim),
        terminated=z(),
        truncated=z(),
    )
    return ReplayBuffer(data=data, insert_pos=jnp.int32(0), size=jnp.int32(0))


def insert(buffer: ReplayBuffer, batch: Transition) -> ReplayBuffer:
    """Write a batch of n transitions (leading axis n <= capacity), wrapping around."""
    n = batch.reward.shape[0]
    cap = buffer.capacity
    if n > cap:
        raise ValueError(f"cannot insert {n} transitions into a buffer of capacity {cap}")
    idx = (buffer.insert_pos + jnp.arange(n, dtype=jnp.int32)) % cap
    data = jax.tree.map(lambda store, new: store.at[idx].set(new.astype(store.dtype)), buffer.data, batch)
    return ReplayBuffer(
        data=data,
        insert_pos=(buffer.insert_pos + n) % cap,
        size=jnp.minimum(buffer.size + n, cap),
    )


def sample_indices(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> jax.Array:
    # maxval = size keeps sampling inside the filled part; max(.,1) avoids an empty range
    # before the first insert (callers never update before warm-up fills the buffer).
    return jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))


def gather(buffer: ReplayBuffer, idx: jax.Array) -> Transition:
    return jax.tree.map(lambda x: x[idx], buffer.data)


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Transition:
    return gather(buffer, sample_indices(buffer, key, batch_size))
