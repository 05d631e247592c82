"""Proportional prioritized experience replay (Schaul et al. 2016) on the device.

``PrioritizedBuffer`` wraps the uniform ``ReplayBuffer`` (rows laid out per env, see ``buffer.py``)
with two complete binary trees stored as
flat arrays over ``P = next_pow2(capacity)`` leaves, laid out as a 1-based heap: node ``i`` has
children ``2i`` and ``2i + 1``, the root is node 1, slot ``j`` is leaf ``P + j`` and entry 0 is
unused (so index arithmetic needs no offsets). Everything is a pure function of a fixed-shape
pytree, so it runs inside ``jit``/``scan`` and ``vmap`` over seeds.

- ``sum_tree`` holds ``p_j ** alpha`` at the leaves and subtree sums above: sampling is a
  top-down descent, O(B log C) for a batch of B, with no O(C) cumsum per sample. Leaves of rows
  that hold no sampleable transition (empty, a ring's next-observation row, a final-observation
  row, ``j >= capacity``) are 0 and are never reached, so no rejection step is needed.
- ``min_tree`` holds the same leaves (``+inf`` for empty slots) and subtree minima above, so the
  smallest probability needed to normalise importance weights is the root, read in O(1) and kept
  up to date in O(log C) per write. A masked min over the leaf level would save the memory but
  costs O(C) per sampled batch, which inside a scan of many gradient steps dominates for 1M
  slots.
- ``max_priority`` is the largest raw priority ``|td| + eps`` seen so far (before ``** alpha``),
  starting at 1.0. Keeping it raw means new transitions get ``max_priority ** alpha`` with the
  alpha of the call, the same exponent ``update_priorities`` applies.

Both trees are rebuilt from children after every leaf write (never updated by adding deltas),
so float32 round-off cannot accumulate over millions of updates and duplicate indices in a batch
cannot double-count: each internal node is always exactly ``fl(left + right)``.

Memory: the transition data as in ``buffer.py`` plus two float32 trees of ``2 * P`` entries, i.e.

    bytes_per_transition(obs_dim, act_dim) + 16 * P / capacity

16 B per transition when the capacity is a power of two, up to ~32 B just above one (1,000,000
slots round up to P = 2^20: 16.8 B). MJX Ant (27 obs, 8 act): 147 + 16.8 B, so 1M
transitions cost about 164 MB per seed; Gymnasium Ant-v4: 483 + 16.8 B, about 500 MB.
``prioritized_buffer_nbytes`` gives the exact total.

Precision: sums are float32, so a slot whose mass is below ~2^-24 of the total is sampled with a
distorted (possibly zero) probability. With ``eps = 1e-6`` and typical TD errors this only
affects transitions that PER already samples essentially never.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct

from largerl_jax.replay.buffer import (
    ReplayBuffer,
    Transition,
    buffer_nbytes,
    gather,
    has_transitions,
    init_buffer,
    insert,
    insert_rows,
)


@struct.dataclass
class PrioritizedBuffer:
    buffer: ReplayBuffer
    sum_tree: jax.Array  # float32 [2P]: leaves P..2P-1 hold p**alpha, 0 for rows not sampleable
    min_tree: jax.Array  # float32 [2P]: same leaves, +inf for rows not sampleable; minima above
    max_priority: jax.Array  # float32 scalar: largest raw |td| + eps seen, before ** alpha

    @property
    def rows(self) -> ReplayBuffer:  # replay.kinds.rows_of
        return self.buffer

    def gather_rows(self, idx: jax.Array):
        return gather(self.buffer, idx)

    @property
    def capacity(self) -> int:
        return self.buffer.capacity

    @property
    def num_leaves(self) -> int:
        return self.sum_tree.shape[-1] // 2


def _num_leaves(capacity: int) -> int:
    return 1 << max(capacity - 1, 0).bit_length()


def prioritized_buffer_nbytes(capacity: int, obs_dim: int, act_dim: int, num_envs: int = 1, obs_dtype=jnp.float32) -> int:
    """Bytes of the arrays that scale with capacity (rows + both trees), per seed."""
    rows = (capacity // num_envs) * num_envs
    return buffer_nbytes(capacity, obs_dim, act_dim, num_envs, obs_dtype) + 2 * 4 * 2 * _num_leaves(rows)


def init_prioritized(capacity: int, obs_dim: int, act_dim: int, num_envs: int = 1, obs_dtype=jnp.float32) -> PrioritizedBuffer:
    buf = init_buffer(capacity, obs_dim, act_dim, num_envs, obs_dtype)  # validates capacity
    p = _num_leaves(buf.capacity)
    return PrioritizedBuffer(
        buffer=buf,
        sum_tree=jnp.zeros((2 * p,), jnp.float32),
        min_tree=jnp.full((2 * p,), jnp.inf, jnp.float32),
        # Schaul et al. start at 1: the first transitions are all equally likely until a TD error
        # is known, and a large first |td| raises it for everything inserted afterwards.
        max_priority=jnp.float32(1.0),
    )


def _write_leaves(
    sum_tree: jax.Array, min_tree: jax.Array, slots: jax.Array, values: jax.Array, write: jax.Array,
    min_values: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Set leaves ``slots[write]`` to ``values[write]`` (the min tree to ``min_values``, default
    the same) and rebuild their ancestors.

    ``slots`` must lie in [0, P); entries with ``write`` False leave their leaf alone. Among
    duplicate slots the caller must mark at most one as written: XLA scatters with repeated
    indices pick an unspecified winner, which could differ between the two trees.
    """
    p = sum_tree.shape[-1] // 2
    node = slots.astype(jnp.int32) + p
    leaf_target = jnp.where(write, node, 2 * p)  # out of bounds -> dropped
    sum_tree = sum_tree.at[leaf_target].set(values, mode="drop")
    min_tree = min_tree.at[leaf_target].set(values if min_values is None else min_values, mode="drop")
    # Rebuilding a parent from its children is idempotent, so unwritten and duplicate paths are
    # harmless: every writer of a node stores the same value.
    for _ in range(p.bit_length() - 1):
        node = node >> 1
        sum_tree = sum_tree.at[node].set(sum_tree[2 * node] + sum_tree[2 * node + 1])
        min_tree = min_tree.at[node].set(jnp.minimum(min_tree[2 * node], min_tree[2 * node + 1]))
    return sum_tree, min_tree


def insert_prioritized(buf: PrioritizedBuffer, batch: Transition, alpha) -> PrioritizedBuffer:
    """Store one step of every env like ``buffer.insert``; each new transition row gets
    ``max_priority ** alpha`` and each next-observation row loses its mass.

    Overwritten rows lose their old priority (the trees are rebuilt along their paths), so a
    stale large or small priority cannot outlive its transition.
    """
    rows, tail = insert_rows(buf.buffer)  # 2N distinct rows (a ring has at least 2)
    data = insert(buf.buffer, batch)  # raises unless one transition per env
    n = rows.shape[0]
    value = jnp.power(buf.max_priority, alpha).astype(jnp.float32)
    sum_values = jnp.concatenate([jnp.full((n,), value), jnp.zeros((n,), jnp.float32)])
    min_values = jnp.concatenate([jnp.full((n,), value), jnp.full((n,), jnp.inf, jnp.float32)])
    sum_tree, min_tree = _write_leaves(
        buf.sum_tree, buf.min_tree, jnp.concatenate([rows, tail]), sum_values, jnp.ones((2 * n,), bool), min_values
    )
    return buf.replace(buffer=data, sum_tree=sum_tree, min_tree=min_tree)


def _descend(sum_tree: jax.Array, min_tree: jax.Array, frac: jax.Array) -> tuple[jax.Array, jax.Array]:
    """For fractions of the total mass [B], the leaf slot j with prefix mass S_j <= u < S_j +
    leaf_j (u = frac * total), and that leaf's value over the smallest filled leaf."""
    p = sum_tree.shape[-1] // 2
    total, min_leaf = sum_tree[1], min_tree[1]

    def level(_, carry):
        u, node, _ = carry
        left = sum_tree[2 * node]
        right = sum_tree[2 * node + 1]
        # Never step into a massless subtree: u can reach the total (stratum edge rounding) or
        # exceed ``left`` by round-off when the rest of the tree is empty slots. Staying left
        # then lands on the last non-empty leaf instead of an unfilled slot.
        go_right = (u >= left) & (right > 0)
        u = jnp.where(go_right, u - left, u)
        return u, 2 * node + go_right.astype(jnp.int32), jnp.where(go_right, right, left) / min_leaf

    # Every read of the trees feeds this one loop, whose index output the caller's later
    # ``update_priorities`` consumes, so XLA orders all reads before that update's in-place
    # scatters. With unrolled level gathers, or a leaf / min-root read that only fed the
    # weights, XLA (0.10) copied both trees on every scan step that samples and then updates:
    # O(C) per step, 5x slower at 1M slots on CPU.
    init = (frac * total, jnp.ones(frac.shape, jnp.int32), jnp.full(frac.shape, total / min_leaf))
    _, node, ratio = jax.lax.fori_loop(0, p.bit_length() - 1, level, init)
    return node - p, ratio


def sample_prioritized_indices(
    buf: PrioritizedBuffer, key: jax.Array, batch_size: int, beta
) -> tuple[jax.Array, jax.Array]:
    """Slots drawn with P(i) = p_i^a / sum_k p_k^a, and their normalized importance weights.

    Stratified as in Schaul et al.: the total mass is cut into ``batch_size`` equal segments and
    one point is drawn uniformly in each. Draw k of a batch is therefore confined to segment k,
    but a uniformly chosen draw of the batch has exactly the target distribution, with less
    variance in the batch composition than i.i.d. draws (no batch of only the heaviest slots).

    Weights w_i = (N P(i))^-beta / max_j (N P(j))^-beta over the N filled slots. N and the total
    cancel, leaving (p_i^a / min_j p_j^a)^-beta, computed from the sampled leaves and the
    min-tree root; the least likely slot gets weight exactly 1.
    Before the first insert all indices are 0 and all weights 1.
    """
    strata = jnp.arange(batch_size, dtype=jnp.float32)
    frac = (strata + jax.random.uniform(key, (batch_size,), jnp.float32)) / batch_size
    idx, ratio = _descend(buf.sum_tree, buf.min_tree, frac)
    weights = jnp.power(ratio, -jnp.asarray(beta, jnp.float32))
    weights = jnp.where(has_transitions(buf.buffer), weights, 1.0).astype(jnp.float32)
    return idx, weights


def sample_prioritized(
    buf: PrioritizedBuffer, key: jax.Array, batch_size: int, beta
) -> tuple[Transition, jax.Array, jax.Array]:
    """(transitions, slot indices [B] int32, importance weights [B] float32); see
    ``sample_prioritized_indices`` for the sampling scheme and weight normalisation."""
    idx, weights = sample_prioritized_indices(buf, key, batch_size, beta)
    return gather(buf.buffer, idx), idx, weights


def update_priorities(
    buf: PrioritizedBuffer, idx: jax.Array, td_errors: jax.Array, alpha, eps: float = 1e-6
) -> PrioritizedBuffer:
    """Set p_i = |td_i| + eps for the sampled slots; the trees store p_i ** alpha.

    Repeated indices behave as if the updates were applied in batch order (the last one wins),
    independent of how the backend orders scatters. Indices of rows that hold no sampleable
    transition are ignored so they cannot give mass to an empty or next-observation row. ``max_priority`` becomes the largest raw
    p_i of every applied entry, duplicates included.
    """
    idx = idx.astype(jnp.int32).reshape(-1)
    prio = (jnp.abs(jax.lax.stop_gradient(td_errors)).reshape(-1) + eps).astype(jnp.float32)
    n = idx.shape[0]
    if n == 0:
        return buf
    safe = jnp.clip(idx, 0, buf.capacity - 1)
    valid = (idx >= 0) & (idx < buf.capacity) & buf.buffer.valid[safe]
    # Last occurrence of each slot: a stable sort keeps batch order inside a run of equal
    # indices, so the run's final element is the latest update. O(B log B), no O(C) scratch.
    order = jnp.argsort(idx, stable=True)
    sorted_idx = idx[order]
    last_in_run = jnp.concatenate([sorted_idx[:-1] != sorted_idx[1:], jnp.ones((1,), bool)])
    is_last = jnp.zeros((n,), bool).at[order].set(last_in_run)
    values = jnp.power(prio, alpha).astype(jnp.float32)
    sum_tree, min_tree = _write_leaves(buf.sum_tree, buf.min_tree, safe, values, valid & is_last)
    max_priority = jnp.maximum(buf.max_priority, jnp.max(jnp.where(valid, prio, 0.0)))
    return buf.replace(sum_tree=sum_tree, min_tree=min_tree, max_priority=max_priority)


def linear_schedule(start: float, end: float, steps: int) -> Callable[[jax.Array], jax.Array]:
    """step -> start + (end - start) * min(step / steps, 1), e.g. beta from 0.4 to 1.0.

    Jittable in ``step``; ``steps = 0`` gives ``end`` from the first step.
    """
    if steps < 0:
        raise ValueError(f"schedule length must be non-negative, got {steps}")

    def schedule(step):
        if steps == 0:
            return jnp.float32(end)
        frac = jnp.clip(jnp.asarray(step, jnp.float32) / steps, 0.0, 1.0)
        return jnp.float32(start) + (jnp.float32(end) - jnp.float32(start)) * frac

    return schedule
