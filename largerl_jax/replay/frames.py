"""Pixel replay on the device: each frame stored once, frame stacks built from row indices.

Rows and rings are those of ``largerl_jax.replay.buffer`` (read its docstring): ``num_envs``
rings, a step of env e at write row p stores its frame at p and the true next frame at p + 1,
and an episode end leaves p + 1 behind as a final-frame row. The actions, rewards, flags, valid
rows and write positions live in an inner ``ReplayBuffer`` whose observations are empty, so its
exact uniform sampler is reused as it is. Beside it this buffer keeps

    frames [C, H, W, 3] uint8   the single frame of each row
    first  [C] bool             that frame opens its episode (the env's episode-start flag)

Stacks (DrQ's convention). The stack of row r is the frames of rows r-k+1 .. r, oldest first,
concatenated on the channel axis ([H, W, 3k]); walking back stops at the episode's first row,
whose frame then repeats, so the stack right after a reset is the first frame k times. The next
observation's stack is that of row r + 1. A next-frame row never opens an episode, so it is the
stack of r shifted by one frame: a batch gathers k + 1 frames per sample, not 2k.

Overwritten history. Once a ring wraps, the rows just ahead of the write position would walk
back into rows the ring has just rewritten; the k - 1 rows after each written pair are marked
invalid at insert, so sampled stacks never mix in frames of another time.

Memory (DrQ's 84x84 RGB, k = 3): a row holds one frame, 84 * 84 * 3 = 21,168 bytes, plus the
action (4 * act_dim), the reward (4) and four one-byte flags (terminated, truncated, valid,
first): ``bytes_per_transition = 21,176 + 4 * act_dim``, 21,200 bytes for cheetah (6 actions).
Storing stacked obs and next_obs would take 2 * 84 * 84 * 9 = 127,008 bytes of pixels per
transition, six times as much: 100k transitions take 2.1 GB here instead of 12.7 GB.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from largerl_jax.replay import buffer as rb

FRAME_SHAPE = (84, 84, 3)
STACK = 3


@struct.dataclass
class FrameReplay:
    core: rb.ReplayBuffer  # everything but the pixels; its obs are an empty [0, 0]
    frames: jax.Array  # [C, H, W, c] uint8
    first: jax.Array  # [C] bool
    stack: int = struct.field(pytree_node=False, default=STACK)

    @property
    def capacity(self) -> int:
        return self.core.capacity

    @property
    def rows(self) -> rb.ReplayBuffer:  # replay.kinds.rows_of
        return self.core

    def gather_rows(self, idx: jax.Array) -> rb.Transition:
        return gather(self, idx)


@struct.dataclass
class FrameTransition:
    """One step of N envs as the host loop stores it: single frames, not stacks."""

    obs: jax.Array  # [N, H, W, c] uint8: the frame the agent acted on
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array  # [N, H, W, c] uint8: the true next frame (before any auto-reset)
    terminated: jax.Array
    truncated: jax.Array
    episode_start: jax.Array  # [N]: obs opened its episode


def insert_transition(replay: FrameReplay, t: FrameTransition) -> FrameReplay:
    return insert(replay, t.obs, t.action, t.reward, t.next_obs, t.terminated, t.truncated, t.episode_start)


def bytes_per_transition(act_dim: int, frame_shape=FRAME_SHAPE) -> int:
    """Bytes of one row: its frame, the inner buffer's row and the episode-start flag."""
    return int(np.prod(frame_shape)) + rb.bytes_per_transition(0, act_dim) + 1


def frame_replay_nbytes(capacity: int, act_dim: int, num_envs: int = 1, frame_shape=FRAME_SHAPE) -> int:
    """Bytes of the arrays that scale with capacity, per seed."""
    return (capacity // num_envs) * num_envs * bytes_per_transition(act_dim, frame_shape)


def init_frame_replay(capacity: int, act_dim: int, num_envs: int = 1, stack: int = STACK,
                      frame_shape=FRAME_SHAPE) -> FrameReplay:
    length = capacity // max(num_envs, 1)
    # a written pair plus the k - 1 rows it invalidates must not wrap onto themselves
    if length < stack + 2:
        raise ValueError(f"frame replay needs at least {stack + 2} rows per env for stacks of {stack}, "
                         f"got {length} ({capacity} rows for {num_envs} envs)")
    core = rb.init_buffer(capacity, 0, act_dim, num_envs)
    return FrameReplay(
        # the inner observations are never read: no rows at all, rather than [C, 0], keeps
        # them from counting as capacity-sized arrays in copy audits
        core=core.replace(obs=jnp.zeros((0, 0), jnp.float32)),
        frames=jnp.zeros((core.capacity,) + tuple(frame_shape), jnp.uint8),
        first=jnp.zeros((core.capacity,), bool),
        stack=stack,
    )


def insert(replay: FrameReplay, frame, action, reward, next_frame, terminated, truncated,
           episode_start) -> FrameReplay:
    """Store one step of every env (leading axis N): ``frame`` is the frame the agent acted on,
    ``episode_start`` whether it opened its episode, ``next_frame`` the true next frame (before
    any auto-reset)."""
    core = replay.core
    n = frame.shape[0]
    rows, tail = rb.insert_rows(core)
    both = jnp.concatenate([rows, tail])
    length = core.ring_length
    base = rows - rows % length
    ahead = [base + (tail - base + j) % length for j in range(1, replay.stack)]
    empty = jnp.zeros((n, 0), jnp.float32)
    core = rb.insert(core, rb.Transition(obs=empty, action=action, reward=reward, next_obs=empty,
                                         terminated=terminated, truncated=truncated))
    return replay.replace(
        core=core.replace(valid=core.valid.at[jnp.concatenate(ahead)].set(False)) if ahead else core,
        frames=replay.frames.at[both].set(jnp.concatenate([frame, next_frame]).astype(jnp.uint8)),
        first=replay.first.at[both].set(jnp.concatenate([episode_start > 0, jnp.zeros((n,), bool)])),
    )


def stack_rows(replay: FrameReplay, idx: jax.Array) -> jax.Array:
    """[..., k] rows whose frames make the stack of rows ``idx``, oldest first."""
    length = replay.core.ring_length
    rows = [idx]
    for _ in range(replay.stack - 1):
        cur = rows[-1]
        prev = cur - cur % length + (cur % length - 1) % length
        rows.append(jnp.where(replay.first[cur], cur, prev))
    return jnp.stack(rows[::-1], axis=-1)


def _concat_frames(frames: jax.Array) -> jax.Array:
    """[B, k, H, W, c] -> [B, H, W, k*c], frame-major channels (oldest frame's RGB first)."""
    b, k, h, w, c = frames.shape
    return jnp.moveaxis(frames, 1, 3).reshape(b, h, w, k * c)


def gather(replay: FrameReplay, idx: jax.Array) -> rb.Transition:
    """Transitions of rows ``idx`` [B] with uint8 stacks as obs and next_obs [B, H, W, 3k]."""
    rows = jnp.concatenate([stack_rows(replay, idx), rb.next_rows(replay.core, idx)[:, None]], axis=1)
    frames = replay.frames[rows]  # [B, k + 1, H, W, c]
    core = rb.gather(replay.core, idx)
    return core.replace(obs=_concat_frames(frames[:, :-1]), next_obs=_concat_frames(frames[:, 1:]))


def sample(replay: FrameReplay, key: jax.Array, batch_size: int) -> rb.Transition:
    return gather(replay, rb.sample_indices(replay.core, key, batch_size))


def break_episodes(replay: FrameReplay) -> FrameReplay:
    """As ``buffer.break_episodes``: the next insert starts a new episode on a fresh row."""
    return replay.replace(core=rb.break_episodes(replay.core))


def initial_stack(frame: jax.Array, stack: int = STACK) -> jax.Array:
    """The acting stack at reset: [N, H, W, c] -> [N, H, W, k*c], the frame k times."""
    return jnp.concatenate([frame] * stack, axis=-1)


def push_frame(stacks: jax.Array, frame: jax.Array, episode_start: jax.Array) -> jax.Array:
    """The acting stacks [N, H, W, k*c] after the env returned ``frame`` [N, H, W, c]: shifted
    by one frame, or restarted where ``episode_start`` (the same stacks the replay builds)."""
    c = frame.shape[-1]
    k = stacks.shape[-1] // c
    shifted = jnp.concatenate([stacks[..., c:], frame], axis=-1)
    start = (jnp.asarray(episode_start) > 0).reshape((-1,) + (1,) * (stacks.ndim - 1))
    return jnp.where(start, initial_stack(frame, k), shifted)
