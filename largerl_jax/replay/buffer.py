"""Uniform replay that lives on the device inside the train state, each observation stored once.

Layout. The buffer is ``num_envs`` rings of ``L = capacity // num_envs`` rows; env e owns rows
``[e*L, (e+1)*L)`` and writes them in order, so the next observation of row r is the observation
of row r+1 of the same ring. A step of env e at its write row p stores

    obs[p] = o_t,  action/reward/flags[p] = that step's,  valid[p] = True
    obs[p+1] = o_{t+1} (the true next observation),  row p+1 cleared, valid[p+1] = False

and moves p on by one. When the step ended the episode (terminated or truncated), o_{t+1} is
the true final observation, which the next step must not overwrite with the reset observation:
p then moves on by two and row p+1 stays behind as a final-observation row, never sampled.
So ``capacity`` counts rows: a buffer holds ``capacity`` transitions minus one row per episode
end still in the window and one tail row per env (0.1% for 1000-step episodes).

Why this layout (not (obs, next_obs) pairs):
- Memory: one observation per transition. Float32 rows take
  ``bytes_per_transition = obs_bytes + 4 * act_dim + 4 + 3`` (reward, then terminated, truncated
  and valid as one byte each): Gymnasium Ant-v4 (111 obs, 8 act) 483 B instead of 932 B, so 1M
  transitions take 483 MB; MJX Ant (27 obs) 147 B instead of 260 B.
- No copy per step. Every field is written by one scatter of 2N rows (p and p+1 of each env).
  A one-row insert (N = 1 without the tail row) becomes a dynamic-update-slice in XLA, which
  XLA:CPU duplicated into the sampling gather's fusion at one seed and so copied the whole
  buffer on every step (3x slower at 1M rows); a 2N-row scatter is updated in place.
  ``tests/training/test_no_replay_copy.py`` checks the compiled programs for it.

Sampling is uniform over valid rows: draw (env, row) uniformly in the filled range and redraw
the invalid ones until none is left, which is exact (every valid row has the same chance) and
takes one or two redraws in practice (the invalid share is the tail and final-observation rows).

All arrays are preallocated, so the buffer is a fixed-shape pytree: insertion and sampling are
pure functions usable inside ``jit``/``scan``/``vmap``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Transition:
    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array  # 1.0: no bootstrap from next_obs
    truncated: jax.Array  # kept for diagnostics; the target bootstraps through it
    # n-step transitions only (replay.nstep): reward of each step taken [..., n] (0 past them)
    # and how many were taken [...]; None in one-step batches
    rewards: jax.Array | None = None
    steps: jax.Array | None = None


@struct.dataclass
class ReplayBuffer:
    obs: jax.Array  # [C, obs_dim]: o_t of row r; o_{t+1} is obs[r + 1] of the same ring
    action: jax.Array  # [C, act_dim] float32
    reward: jax.Array  # [C] float32
    terminated: jax.Array  # [C] uint8
    truncated: jax.Array  # [C] uint8
    valid: jax.Array  # [C] bool: row holds a transition whose next observation is row r + 1
    pos: jax.Array  # [N] int32: each ring's next write row, in [0, L)
    filled: jax.Array  # [N] int32: rows of each ring ever written (capped at L)

    @property
    def rows(self) -> "ReplayBuffer":  # replay.kinds.rows_of: the ring of rows of any replay
        return self

    def gather_rows(self, idx: jax.Array) -> "Transition":
        return gather(self, idx)

    @property
    def capacity(self) -> int:
        return self.reward.shape[-1]

    @property
    def num_envs(self) -> int:
        return self.pos.shape[-1]

    @property
    def ring_length(self) -> int:
        return self.capacity // self.num_envs


FLAG_BYTES = 3  # terminated, truncated, valid


def bytes_per_transition(obs_dim: int, act_dim: int, obs_dtype=jnp.float32) -> int:
    """Bytes of one row (one stored transition)."""
    return obs_dim * np.dtype(obs_dtype).itemsize + 4 * act_dim + 4 + FLAG_BYTES


def buffer_nbytes(capacity: int, obs_dim: int, act_dim: int, num_envs: int = 1, obs_dtype=jnp.float32) -> int:
    """Bytes of the arrays that scale with capacity, per seed (the per-env counters aside)."""
    rows = (capacity // num_envs) * num_envs
    return rows * bytes_per_transition(obs_dim, act_dim, obs_dtype)


def init_buffer(capacity: int, obs_dim: int, act_dim: int, num_envs: int = 1, obs_dtype=jnp.float32) -> ReplayBuffer:
    """``num_envs`` rings of ``capacity // num_envs`` rows (at least 2: a transition and the
    next observation's row). Capacity not divisible by num_envs is rounded down."""
    if num_envs < 1:
        raise ValueError(f"replay num_envs must be positive, got {num_envs}")
    length = capacity // num_envs
    if length < 2:
        raise ValueError(
            f"replay capacity {capacity} leaves {length} rows per env for {num_envs} envs; "
            "each env needs at least 2 (a transition and its next observation)"
        )
    rows = length * num_envs
    return ReplayBuffer(
        obs=jnp.zeros((rows, obs_dim), obs_dtype),
        action=jnp.zeros((rows, act_dim), jnp.float32),
        reward=jnp.zeros((rows,), jnp.float32),
        terminated=jnp.zeros((rows,), jnp.uint8),
        truncated=jnp.zeros((rows,), jnp.uint8),
        valid=jnp.zeros((rows,), bool),
        pos=jnp.zeros((num_envs,), jnp.int32),
        filled=jnp.zeros((num_envs,), jnp.int32),
    )


def insert_rows(buffer: ReplayBuffer) -> tuple[jax.Array, jax.Array]:
    """The rows the next insert writes: each env's transition row and next-observation row."""
    length = buffer.ring_length
    base = jnp.arange(buffer.num_envs, dtype=jnp.int32) * length
    return base + buffer.pos, base + (buffer.pos + 1) % length


def insert(buffer: ReplayBuffer, batch: Transition) -> ReplayBuffer:
    """Store one step of every env: ``batch`` leads with the env axis [N] (see module docstring)."""
    n = batch.reward.shape[0]
    if n != buffer.num_envs:
        raise ValueError(f"insert takes one transition per env: got {n} for a buffer of {buffer.num_envs} envs")
    rows, tail = insert_rows(buffer)
    both = jnp.concatenate([rows, tail])

    def write(store, now, after):
        return store.at[both].set(jnp.concatenate([now.astype(store.dtype), after.astype(store.dtype)]))

    zeros = lambda x: jnp.zeros_like(x)
    # Nothing here reads the old rows: a read that XLA cannot order before the in-place
    # scatters (a count of the overwritten valid flags did) makes it copy the whole array.
    done = (batch.terminated > 0) | (batch.truncated > 0)
    length = buffer.ring_length
    return buffer.replace(
        obs=write(buffer.obs, batch.obs, batch.next_obs),
        action=write(buffer.action, batch.action, zeros(batch.action)),
        reward=write(buffer.reward, batch.reward, zeros(batch.reward)),
        terminated=write(buffer.terminated, batch.terminated > 0, zeros(batch.terminated)),
        truncated=write(buffer.truncated, batch.truncated > 0, zeros(batch.truncated)),
        valid=write(buffer.valid, jnp.ones((n,), bool), jnp.zeros((n,), bool)),
        pos=(buffer.pos + 1 + done.astype(jnp.int32)) % length,
        filled=jnp.maximum(buffer.filled, jnp.minimum(buffer.pos + 2, length)),
    )


def has_transitions(buffer: ReplayBuffer) -> jax.Array:
    """Whether any row can be sampled: from the first insert on, each ring's newest transition
    row stays valid, so this is whether anything was inserted (O(N), no pass over the rows)."""
    return jnp.max(buffer.filled) > 0


def num_valid(buffer: ReplayBuffer) -> jax.Array:
    """Transitions that can be sampled (O(capacity): for metrics and tests, not per step)."""
    return jnp.sum(buffer.valid, dtype=jnp.int32)


def break_episodes(buffer: ReplayBuffer) -> ReplayBuffer:
    """Treat every env's current episode as ended (its last next-observation row is kept as a
    final-observation row): for host envs that restart episodes after a resume, whose first
    observation must not overwrite the stored next observation of the last transition."""
    started = buffer.filled > 0
    return buffer.replace(pos=jnp.where(started, (buffer.pos + 1) % buffer.ring_length, buffer.pos))


def sample_indices(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> jax.Array:
    """``batch_size`` rows drawn uniformly (with replacement) among the valid ones.

    Twice as many candidates as needed are drawn uniformly over the filled (env, row) range and
    the first ``batch_size`` valid ones kept, in draw order: each kept candidate is uniform over
    the valid rows whatever happened to the others, so this is exact. In the rare batch with
    too few valid candidates, the invalid ones left are redrawn until none is left. (One draw
    with redraws would loop on almost every batch: with 2% of rows invalid, e.g. MJX Ant's
    final-observation rows under random actions, 256 draws hold an invalid one 99% of the time.)

    Before anything valid is stored the result is arbitrary (callers never update before the
    warm-up fills the buffer)."""
    length, num_envs = buffer.ring_length, buffer.num_envs
    high = jnp.maximum(jnp.max(buffer.filled), 1)

    def draw(k, n):
        c = jax.random.randint(k, (n,), 0, num_envs * high)
        return (c // high) * length + c % high

    candidates = draw(jax.random.fold_in(key, 0), 2 * batch_size)
    ok = buffer.valid[candidates]
    # positions of the first batch_size valid candidates (a cumsum and scatter; a sort or a
    # redraw loop cost 2-3x more per batch on CPU); missing ones are marked for redrawing
    first_valid = jnp.nonzero(ok, size=batch_size, fill_value=0)[0]
    idx = candidates[first_valid]
    ok = jnp.arange(batch_size) < jnp.sum(ok)

    def redraw(carry):
        i, idx, ok = carry
        idx = jnp.where(ok, idx, draw(jax.random.fold_in(key, i), batch_size))
        return i + 1, idx, buffer.valid[idx]

    def some_invalid(carry):
        return ~jnp.all(carry[2]) & has_transitions(buffer)

    _, idx, _ = jax.lax.while_loop(some_invalid, redraw, (jnp.int32(1), idx, ok))
    return idx


def next_rows(buffer: ReplayBuffer, idx: jax.Array) -> jax.Array:
    length = buffer.ring_length
    return idx - idx % length + (idx % length + 1) % length


def gather(buffer: ReplayBuffer, idx: jax.Array) -> Transition:
    """The transitions of rows ``idx`` (any shape), with next observations from the next rows."""
    return Transition(
        obs=buffer.obs[idx],
        action=buffer.action[idx],
        reward=buffer.reward[idx],
        next_obs=buffer.obs[next_rows(buffer, idx)],
        terminated=buffer.terminated[idx].astype(jnp.float32),
        truncated=buffer.truncated[idx].astype(jnp.float32),
    )


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Transition:
    return gather(buffer, sample_indices(buffer, key, batch_size))


def stored_transitions(buffer: ReplayBuffer) -> Transition:
    """Every valid transition, in row order (host-side, for tests and analysis; not jittable)."""
    idx = np.flatnonzero(np.asarray(buffer.valid))
    return jax.tree.map(np.asarray, gather(buffer, jnp.asarray(idx, jnp.int32)))
