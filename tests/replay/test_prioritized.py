import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from largerl_jax import replay
from largerl_jax.replay.prioritized import _descend
from fake_transitions import fill_stream, ramp, stream_step

EPS = 1e-6




def _leaves(buf):
    p = buf.num_leaves
    return np.asarray(buf.sum_tree[p:])


def _assert_trees_consistent(buf):
    """Every internal node is exactly fl32(sum) / min of its children; leaves of rows without a
    sampleable transition (and padding) are 0 / inf, the others positive and equal in both."""
    s, m = np.asarray(buf.sum_tree), np.asarray(buf.min_tree)
    p = buf.num_leaves
    valid = np.zeros(p, bool)
    valid[: buf.capacity] = np.asarray(buf.buffer.valid)
    nodes = np.arange(1, p)
    np.testing.assert_array_equal(s[nodes], s[2 * nodes] + s[2 * nodes + 1])
    np.testing.assert_array_equal(m[nodes], np.minimum(m[2 * nodes], m[2 * nodes + 1]))
    np.testing.assert_array_equal(s[p:][~valid], 0.0)
    np.testing.assert_array_equal(m[p:][~valid], np.inf)
    np.testing.assert_array_equal(m[p:][valid], s[p:][valid])
    assert np.all(s[p:][valid] > 0)


def _fill(buf, start, n, alpha, done_every=0):
    return fill_stream(buf, start, n, lambda b, t: replay.insert_prioritized(b, t, alpha), done_every)


@functools.partial(jax.jit, static_argnames=("chunks", "batch_size"))
def _draw(buf, key, beta, chunks, batch_size):
    keys = jax.random.split(key, chunks)
    idx, w = jax.vmap(lambda k: replay.sample_prioritized_indices(buf, k, batch_size, beta))(keys)
    return idx.reshape(-1), w.reshape(-1)


TAIL = 20  # after 70 steps into 50 rows, row 20 holds the next observation of step 69


def _filled(alpha, capacity=50, seed=0):
    """capacity 50 (tree of 64 leaves), 70 steps of one env so 20 rows were overwritten, then
    known priorities for every row spanning two decades (the tail row's is ignored); returns
    (buffer, raw priorities, mask of sampleable rows)."""
    rng = np.random.default_rng(seed)
    buf = _fill(replay.init_prioritized(capacity, 3, 2), 0, 70, alpha)
    td = rng.uniform(0.05, 5.0, capacity).astype(np.float32) * rng.choice([-1, 1], capacity)
    buf = replay.update_priorities(buf, jnp.arange(capacity), jnp.asarray(td), alpha)
    valid = np.asarray(buf.buffer.valid)
    assert not valid[TAIL] and valid.sum() == capacity - 1
    return buf, np.abs(td).astype(np.float64) + EPS, valid


@pytest.mark.parametrize("alpha", [0.6, 1.0])
def test_sampling_matches_target_distribution(alpha):
    buf, prio, valid = _filled(alpha)
    prio = prio[valid]
    target = prio**alpha / np.sum(prio**alpha)
    wrong_alpha = 1.0 if alpha != 1.0 else 0.6
    wrong = prio**wrong_alpha / np.sum(prio**wrong_alpha)
    # Batches of 1000 are stratified: draws within a batch are negatively correlated, which
    # only shrinks the statistic (p ~ 1), so the chi-square null is checked on i.i.d. batches
    # of one as well, where the multinomial model is exact. The wrong targets show power.
    for n_chunks, b in ((200, 1000), (100_000, 1)):
        idx, _ = _draw(buf, jax.random.key(1), 0.4, n_chunks, b)
        counts = np.bincount(np.asarray(idx), minlength=buf.num_leaves)
        assert counts[50:].sum() == 0 and counts[TAIL] == 0
        counts = counts[:50][valid]
        assert stats.chisquare(counts, target * counts.sum()).pvalue > 1e-3
        assert stats.chisquare(counts, wrong * counts.sum()).pvalue < 1e-10
        assert stats.chisquare(counts, np.full(49, counts.sum() / 49)).pvalue < 1e-10


def test_importance_weights_match_numpy_formula():
    alpha, beta = 0.6, 0.4
    buf, prio, valid = _filled(alpha, seed=3)
    sample = jax.jit(replay.sample_prioritized, static_argnums=2)
    batch, idx, w = sample(buf, jax.random.key(2), 256, beta)
    idx, w = np.asarray(idx), np.asarray(w)
    assert idx.dtype == np.int32 and w.dtype == np.float32 and w.shape == (256,)
    np.testing.assert_array_equal(np.asarray(batch.reward), np.asarray(buf.buffer.reward)[idx])
    np.testing.assert_array_equal(np.asarray(batch.next_obs[:, 0]), np.asarray(batch.obs[:, 0]) + 1)
    n = valid.sum()
    probs = np.where(valid, prio**alpha, 0.0) / np.sum(prio[valid] ** alpha)
    expect = (n * probs[idx]) ** -beta / (n * probs[valid].min()) ** -beta
    np.testing.assert_allclose(w, expect, rtol=2e-5)
    # Max weight over the buffer is 1, reached at the least likely slot.
    i_all, w_all = _draw(buf, jax.random.key(4), beta, 50, 1000)
    assert np.flatnonzero(valid)[np.argmin(prio[valid])] in set(np.asarray(i_all).tolist())
    assert np.max(np.asarray(w_all)) == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.asarray(w_all) <= 1.0 + 1e-6)


def test_weight_normalization_follows_overwrite_of_min_slot():
    alpha, beta = 1.0, 1.0
    buf = _fill(replay.init_prioritized(5, 3, 2), 0, 4, alpha)  # rows 0-3, tail row 4
    buf = replay.update_priorities(buf, jnp.arange(4), jnp.array([0.5, 2.0, 4.0, 8.0]), alpha)
    assert float(buf.min_tree[1]) == pytest.approx(0.5 + EPS)
    # Step 4 fills row 4 and makes row 0 (the minimum) its tail: the next minimum is row 1.
    buf = _fill(buf, 4, 1, alpha)
    _assert_trees_consistent(buf)
    assert float(buf.min_tree[1]) == pytest.approx(2.0 + EPS)
    idx, w = replay.sample_prioritized_indices(buf, jax.random.key(0), 64, beta)
    leaves = _leaves(buf)[:5]
    assert 0 not in set(np.asarray(idx).tolist())
    np.testing.assert_allclose(np.asarray(w), leaves[1] / leaves[np.asarray(idx)], rtol=1e-6)


def test_new_transitions_get_max_priority():
    alpha = 0.6
    buf = _fill(replay.init_prioritized(8, 3, 2), 0, 3, alpha)
    np.testing.assert_allclose(_leaves(buf)[:4], [1.0, 1.0, 1.0, 0.0])  # initial max priority 1
    buf = replay.update_priorities(buf, jnp.array([0, 1]), jnp.array([-7.0, 0.1]), alpha)
    assert float(buf.max_priority) == pytest.approx(7.0 + EPS)  # raw, before ** alpha
    buf = replay.update_priorities(buf, jnp.array([0]), jnp.array([0.2]), alpha)
    assert float(buf.max_priority) == pytest.approx(7.0 + EPS)  # max seen, not current max
    buf = _fill(buf, 3, 2, alpha)
    np.testing.assert_allclose(_leaves(buf)[3:5], (7.0 + EPS) ** alpha, rtol=1e-6)
    np.testing.assert_allclose(_leaves(buf)[:3], np.array([0.2 + EPS, 0.1 + EPS, 1.0]) ** alpha, rtol=1e-6)
    _assert_trees_consistent(buf)


def test_random_updates_with_duplicates_keep_tree_exact():
    alpha, cap = 0.7, 37  # 64 leaves, 27 of them padding
    rng = np.random.default_rng(0)
    buf = _fill(replay.init_prioritized(cap, 3, 2), 0, 30, alpha)  # rows 0-29, tail row 30
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
    buf = _fill(replay.init_prioritized(8, 3, 2), 0, 3, 1.0)
    before = np.asarray(buf.sum_tree)
    # 3: the tail row, 7: never written, -1 and 8: outside the buffer
    buf = replay.update_priorities(buf, jnp.array([3, 7, -1, 8]), jnp.array([100.0, 100.0, 100.0, 100.0]), 1.0)
    np.testing.assert_array_equal(np.asarray(buf.sum_tree), before)
    assert float(buf.max_priority) == 1.0


def test_wraparound_overwrites_data_and_priority():
    alpha = 1.0
    buf = _fill(replay.init_prioritized(5, 3, 2), 0, 3, alpha)
    buf = replay.update_priorities(buf, jnp.arange(3), jnp.array([0.1, 0.2, 3.0]), alpha)
    buf = _fill(buf, 3, 3, alpha)  # steps 3, 4, 5 in rows 3, 4, 0; row 1 becomes the tail
    assert int(replay.num_valid(buf.buffer)) == 4 and int(buf.buffer.pos[0]) == 1
    np.testing.assert_array_equal(np.asarray(buf.buffer.reward), [5, 0, 2, 3, 4])
    np.testing.assert_allclose(_leaves(buf)[:5], [3.0, 0.0, 3.0, 3.0, 3.0], rtol=1e-5)
    _assert_trees_consistent(buf)
    with pytest.raises(ValueError):
        replay.insert_prioritized(buf, ramp(0, 6), alpha)


def test_episode_ends_leave_massless_final_rows():
    buf = _fill(replay.init_prioritized(16, 3, 2), 0, 9, 1.0, done_every=3)
    # steps 0-2 in rows 0-2, final obs in row 3, steps 3-5 in rows 4-6, final in 7, ...
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(buf.buffer.valid)), [0, 1, 2, 4, 5, 6, 8, 9, 10])
    _assert_trees_consistent(buf)
    idx, _ = _draw(buf, jax.random.key(0), 0.4, 20, 64)
    assert set(np.unique(np.asarray(idx)).tolist()) == {0, 1, 2, 4, 5, 6, 8, 9, 10}


def test_empty_slots_are_never_sampled():
    alpha = 1.0
    buf = _fill(replay.init_prioritized(100, 3, 2), 1, 7, alpha)  # rows 0-6 hold steps 1-7
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
    buf = _fill(replay.init_prioritized(2, 3, 2), 0, 1, 0.6)  # one transition and its tail row
    buf = replay.update_priorities(buf, jnp.array([0, 0]), jnp.array([2.0, 3.0]), 0.6)
    batch, idx, w = replay.sample_prioritized(buf, jax.random.key(0), 4, 0.4)
    np.testing.assert_array_equal(np.asarray(idx), 0)
    np.testing.assert_allclose(np.asarray(w), 1.0)
    assert float(buf.sum_tree[1]) == pytest.approx((3.0 + EPS) ** 0.6)
    for cap in (10, 16, 17):
        buf = replay.init_prioritized(cap, 27, 8)
        stored = sum(x.nbytes for x in jax.tree.leaves(buf) if x.ndim > 0 and x.shape[0] >= cap)
        assert stored == replay.prioritized_buffer_nbytes(cap, 27, 8)
    assert replay.prioritized_buffer_nbytes(16, 27, 8) == 16 * (147 + 16)
    with pytest.raises(ValueError):
        replay.init_prioritized(1, 3, 2)


def test_jit_and_vmap_over_seeds():
    alpha, beta, b = 0.6, 0.4, 256
    bufs = jax.vmap(lambda _: replay.init_prioritized(6, 3, 2))(jnp.arange(2))
    insert = jax.jit(jax.vmap(replay.insert_prioritized, in_axes=(0, 0, None)))
    for i in range(3):
        bufs = insert(bufs, jax.tree.map(lambda x, y: jnp.stack([x, y]), stream_step(i), stream_step(10 + i)), alpha)

    @jax.jit
    def step(bufs, keys, td):
        bufs = jax.vmap(replay.insert_prioritized, in_axes=(0, 0, None))(
            bufs, jax.tree.map(lambda x, y: jnp.stack([x, y]), stream_step(3), stream_step(13)), alpha
        )
        idx0 = jnp.tile(jnp.arange(4), (2, 1))
        bufs = jax.vmap(replay.update_priorities, in_axes=(0, 0, 0, None))(bufs, idx0, td, alpha)
        out = jax.vmap(replay.sample_prioritized, in_axes=(0, 0, None, None))(bufs, keys, b, beta)
        return bufs, out

    # Seed 0 favours slot 0, seed 1 favours slot 3.
    td = jnp.array([[50.0, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 50.0]])
    bufs, (batch, idx, w) = step(bufs, jax.random.split(jax.random.key(0), 2), td)
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
