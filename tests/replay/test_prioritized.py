import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from largerl_jax import replay
from largerl_jax.replay.prioritized import _descend
from fake_transitions import ramp

EPS = 1e-6




def _leaves(buf):
    p = buf.num_leaves
    return np.asarray(buf.sum_tree[p:])


def _assert_trees_consistent(buf):
    """Every internal node is exactly fl32(sum) / min of its children, empty leaves are 0 / inf."""
    s, m = np.asarray(buf.sum_tree), np.asarray(buf.min_tree)
    p, size = buf.num_leaves, int(buf.buffer.size)
    nodes = np.arange(1, p)
    np.testing.assert_array_equal(s[nodes], s[2 * nodes] + s[2 * nodes + 1])
    np.testing.assert_array_equal(m[nodes], np.minimum(m[2 * nodes], m[2 * nodes + 1]))
    np.testing.assert_array_equal(s[p + size :], 0.0)
    np.testing.assert_array_equal(m[p + size :], np.inf)
    np.testing.assert_array_equal(m[p : p + size], s[p : p + size])
    assert np.all(s[p : p + size] > 0)


@functools.partial(jax.jit, static_argnames=("chunks", "batch_size"))
def _draw(buf, key, beta, chunks, batch_size):
    keys = jax.random.split(key, chunks)
    idx, w = jax.vmap(lambda k: replay.sample_prioritized_indices(buf, k, batch_size, beta))(keys)
    return idx.reshape(-1), w.reshape(-1)


def _filled(alpha, capacity=50, seed=0):
    """capacity 50 (tree of 64 leaves), 70 inserts so 20 slots were overwritten, then known
    priorities for every slot spanning two decades; returns (buffer, raw priorities)."""
    rng = np.random.default_rng(seed)
    buf = replay.init_prioritized(capacity, 3, 2)
    buf = replay.insert_prioritized(buf, ramp(0, 40), alpha)
    buf = replay.insert_prioritized(buf, ramp(40, 30), alpha)
    td = rng.uniform(0.05, 5.0, capacity).astype(np.float32) * rng.choice([-1, 1], capacity)
    buf = replay.update_priorities(buf, jnp.arange(capacity), jnp.asarray(td), alpha)
    return buf, np.abs(td).astype(np.float64) + EPS


@pytest.mark.parametrize("alpha", [0.6, 1.0])
def test_sampling_matches_target_distribution(alpha):
    buf, prio = _filled(alpha)
    target = prio**alpha / np.sum(prio**alpha)
    wrong_alpha = 1.0 if alpha != 1.0 else 0.6
    wrong = prio**wrong_alpha / np.sum(prio**wrong_alpha)
    # Batches of 1000 are stratified: draws within a batch are negatively correlated, which
    # only shrinks the statistic (p ~ 1), so the chi-square null is checked on i.i.d. batches
    # of one as well, where the multinomial model is exact. The wrong targets show power.
    for n_chunks, b in ((200, 1000), (100_000, 1)):
        idx, _ = _draw(buf, jax.random.key(1), 0.4, n_chunks, b)
        counts = np.bincount(np.asarray(idx), minlength=buf.num_leaves)
        assert counts[50:].sum() == 0
        counts = counts[:50]
        assert stats.chisquare(counts, target * counts.sum()).pvalue > 1e-3
        assert stats.chisquare(counts, wrong * counts.sum()).pvalue < 1e-10
        assert stats.chisquare(counts, np.full(50, counts.sum() / 50)).pvalue < 1e-10


def test_importance_weights_match_numpy_formula():
    alpha, beta = 0.6, 0.4
    buf, prio = _filled(alpha, seed=3)
    sample = jax.jit(replay.sample_prioritized, static_argnums=2)
    batch, idx, w = sample(buf, jax.random.key(2), 256, beta)
    idx, w = np.asarray(idx), np.asarray(w)
    assert idx.dtype == np.int32 and w.dtype == np.float32 and w.shape == (256,)
    np.testing.assert_array_equal(np.asarray(batch.reward), np.asarray(buf.buffer.data.reward)[idx])
    n = 50
    probs = prio**alpha / np.sum(prio**alpha)
    expect = (n * probs[idx]) ** -beta / (n * probs.min()) ** -beta
    np.testing.assert_allclose(w, expect, rtol=2e-5)
    # Max weight over the buffer is 1, reached at the least likely slot.
    i_all, w_all = _draw(buf, jax.random.key(4), beta, 50, 1000)
    assert np.argmin(prio) in set(np.asarray(i_all).tolist())
    assert np.max(np.asarray(w_all)) == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.asarray(w_all) <= 1.0 + 1e-6)


def test_weight_normalization_follows_overwrite_of_min_slot():
    alpha, beta = 1.0, 1.0
    buf = replay.insert_prioritized(replay.init_prioritized(4, 3, 2), ramp(0, 4), alpha)
    buf = replay.update_priorities(buf, jnp.arange(4), jnp.array([0.5, 2.0, 4.0, 8.0]), alpha)
    assert float(buf.min_tree[1]) == pytest.approx(0.5 + EPS)
    # Slot 0 (the minimum) is overwritten with the max priority: the next minimum is slot 1.
    buf = replay.insert_prioritized(buf, ramp(4, 1), alpha)
    _assert_trees_consistent(buf)
    assert float(buf.min_tree[1]) == pytest.approx(2.0 + EPS)
    idx, w = replay.sample_prioritized_indices(buf, jax.random.key(0), 64, beta)
    leaves = _leaves(buf)[:4]
    np.testing.assert_allclose(np.asarray(w), leaves[1] / leaves[np.asarray(idx)], rtol=1e-6)


def test_new_transitions_get_max_priority():
    alpha = 0.6
    buf = replay.init_prioritized(8, 3, 2)
    ins = jax.jit(replay.insert_prioritized)
    buf = ins(buf, ramp(0, 3), alpha)
    np.testing.assert_allclose(_leaves(buf)[:3], 1.0)  # initial max priority 1
    buf = replay.update_priorities(buf, jnp.array([0, 1]), jnp.array([-7.0, 0.1]), alpha)
    assert float(buf.max_priority) == pytest.approx(7.0 + EPS)  # raw, before ** alpha
    buf = replay.update_priorities(buf, jnp.array([0]), jnp.array([0.2]), alpha)
    assert float(buf.max_priority) == pytest.approx(7.0 + EPS)  # max seen, not current max
    buf = ins(buf, ramp(3, 2), alpha)
    np.testing.assert_allclose(_leaves(buf)[3:5], (7.0 + EPS) ** alpha, rtol=1e-6)
    np.testing.assert_allclose(_leaves(buf)[:3], np.array([0.2 + EPS, 0.1 + EPS, 1.0]) ** alpha, rtol=1e-6)
    _assert_trees_consistent(buf)


def test_random_updates_with_duplicates_keep_tree_exact():
    alpha, cap = 0.7, 37  # 64 leaves, 27 of them padding
    rng = np.random.default_rng(0)
    buf = replay.insert_prioritized(replay.init_prioritized(cap, 3, 2), ramp(0, 30), alpha)
    upd = jax.jit(replay.update_priorities)
    ref = np.ones(cap)  # raw priorities, updated sequentially in batch order
    for step in range(20):
        idx = rng.integers(0, 30, 48)  # 48 draws from 30 slots: duplicates every time
        td = rng.normal(size=48).astype(np.float32) * (step + 1)
        buf = upd(buf, jnp.asarray(idx, jnp.int32), jnp.asarray(td), alpha)
        for i, t in zip(idx, td):
            ref[i] = abs(float(t)) + EPS
        _assert_trees_consistent(buf)
        leaves = _leaves(buf)
        np.testing.assert_allclose(leaves[:30], ref[:30] ** alpha, rtol=1e-5)
        assert float(buf.sum_tree[1]) == pytest.approx(float(np.sum(leaves, dtype=np.float64)), rel=1e-6)


def test_out_of_range_indices_are_ignored():
    buf = replay.insert_prioritized(replay.init_prioritized(8, 3, 2), ramp(0, 3), 1.0)
    before = np.asarray(buf.sum_tree)
    buf = replay.update_priorities(buf, jnp.array([3, 7, -1]), jnp.array([100.0, 100.0, 100.0]), 1.0)
    np.testing.assert_array_equal(np.asarray(buf.sum_tree), before)
    assert float(buf.max_priority) == 1.0


def test_wraparound_overwrites_data_and_priority():
    alpha = 1.0
    buf = replay.init_prioritized(5, 3, 2)
    buf = replay.insert_prioritized(buf, ramp(0, 3), alpha)
    buf = replay.update_priorities(buf, jnp.arange(3), jnp.array([0.1, 0.2, 3.0]), alpha)
    buf = replay.insert_prioritized(buf, ramp(3, 3), alpha)  # slots 3, 4, 0
    assert int(buf.buffer.size) == 5 and int(buf.buffer.insert_pos) == 1
    np.testing.assert_array_equal(np.asarray(buf.buffer.data.reward), [5, 1, 2, 3, 4])
    np.testing.assert_allclose(_leaves(buf)[:5], [3.0, 0.2, 3.0, 3.0, 3.0], rtol=1e-5)
    _assert_trees_consistent(buf)
    with pytest.raises(ValueError):
        replay.insert_prioritized(buf, ramp(0, 6), alpha)


def test_empty_slots_are_never_sampled():
    alpha = 1.0
    buf = replay.insert_prioritized(replay.init_prioritized(100, 3, 2), ramp(1, 7), alpha)
    # The last filled slot is nearly massless: the last stratum ends at the total, where
    # round-off could otherwise step into the empty right half of the tree.
    buf = replay.update_priorities(buf, jnp.arange(7), jnp.array([5.0, 1, 2, 3, 4, 9, 0.0]), alpha)
    idx, w = _draw(buf, jax.random.key(0), 1.0, 100, 512)
    idx = np.asarray(idx)
    assert idx.min() >= 0 and idx.max() <= 6
    assert set(np.unique(idx).tolist()) >= set(range(6))
    assert np.all(np.isfinite(np.asarray(w)))
    # Points at (and just past) the total land on the last non-empty leaf.
    frac = jnp.array([1.0, np.nextafter(np.float32(1.0), np.float32(2.0)), 0.0], jnp.float32)
    idx_edge, ratio = _descend(buf.sum_tree, buf.min_tree, frac)
    np.testing.assert_array_equal(np.asarray(idx_edge), [6, 6, 0])
    leaves = _leaves(buf)
    np.testing.assert_array_equal(np.asarray(ratio), leaves[[6, 6, 0]] / leaves[:7].min())
    # Before any insert: defined output, no NaN.
    idx0, w0 = replay.sample_prioritized_indices(replay.init_prioritized(4, 3, 2), jax.random.key(0), 8, 0.4)
    np.testing.assert_array_equal(np.asarray(idx0), 0)
    np.testing.assert_array_equal(np.asarray(w0), 1.0)


def test_capacity_one_and_sizes():
    buf = replay.insert_prioritized(replay.init_prioritized(1, 3, 2), ramp(0, 1), 0.6)
    buf = replay.update_priorities(buf, jnp.array([0, 0]), jnp.array([2.0, 3.0]), 0.6)
    batch, idx, w = replay.sample_prioritized(buf, jax.random.key(0), 4, 0.4)
    np.testing.assert_array_equal(np.asarray(idx), 0)
    np.testing.assert_allclose(np.asarray(w), 1.0)
    assert float(buf.sum_tree[1]) == pytest.approx((3.0 + EPS) ** 0.6)
    for cap in (10, 16, 17):
        buf = replay.init_prioritized(cap, 27, 8)
        stored = sum(x.nbytes for x in jax.tree.leaves(buf) if x.ndim > 0)
        assert stored == replay.prioritized_buffer_nbytes(cap, 27, 8)
    assert replay.prioritized_buffer_nbytes(16, 27, 8) == 16 * (260 + 16)
    with pytest.raises(ValueError):
        replay.init_prioritized(0, 3, 2)


def test_jit_and_vmap_over_seeds():
    alpha, beta, b = 0.6, 0.4, 256
    bufs = jax.vmap(lambda _: replay.init_prioritized(6, 3, 2))(jnp.arange(2))
    batches = jax.tree.map(lambda x, y: jnp.stack([x, y]), ramp(0, 4), ramp(10, 4))

    @jax.jit
    def step(bufs, batches, keys, td):
        bufs = jax.vmap(replay.insert_prioritized, in_axes=(0, 0, None))(bufs, batches, alpha)
        idx0 = jnp.tile(jnp.arange(4), (2, 1))
        bufs = jax.vmap(replay.update_priorities, in_axes=(0, 0, 0, None))(bufs, idx0, td, alpha)
        out = jax.vmap(replay.sample_prioritized, in_axes=(0, 0, None, None))(bufs, keys, b, beta)
        return bufs, out

    # Seed 0 favours slot 0, seed 1 favours slot 3.
    td = jnp.array([[50.0, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 50.0]])
    bufs, (batch, idx, w) = step(bufs, batches, jax.random.split(jax.random.key(0), 2), td)
    assert idx.shape == (2, b) and w.shape == (2, b) and batch.obs.shape == (2, b, 3)
    idx = np.asarray(idx)
    assert idx.max() <= 3
    assert np.bincount(idx[0]).argmax() == 0 and np.bincount(idx[1]).argmax() == 3
    np.testing.assert_array_equal(np.asarray(batch.reward[1]), idx[1] + 10)
    np.testing.assert_allclose(np.asarray(bufs.max_priority), 50.0 + EPS)
    for s in range(2):
        _assert_trees_consistent(jax.tree.map(lambda x: x[s], bufs))


def test_linear_schedule():
    sched = replay.linear_schedule(0.4, 1.0, 1000)
    f = jax.jit(sched)
    assert float(f(0)) == pytest.approx(0.4)
    assert float(f(500)) == pytest.approx(0.7)
    assert float(f(1000)) == pytest.approx(1.0)
    assert float(f(10_000)) == pytest.approx(1.0)
    assert float(f(jnp.int32(250))) == pytest.approx(0.55)
    assert float(replay.linear_schedule(0.4, 1.0, 0)(0)) == 1.0
    with pytest.raises(ValueError):
        replay.linear_schedule(0.4, 1.0, -1)
