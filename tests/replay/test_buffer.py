import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax import replay
from fake_transitions import ramp




def test_wraps_around_and_keeps_newest():
    buf = replay.init_buffer(5, 3, 2)
    ins = jax.jit(replay.insert)
    buf = ins(buf, ramp(0, 3))
    assert int(buf.size) == 3 and int(buf.insert_pos) == 3
    buf = ins(buf, ramp(3, 3))  # writes slots 3, 4, 0
    assert int(buf.size) == 5 and int(buf.insert_pos) == 1
    np.testing.assert_array_equal(np.asarray(buf.data.reward), [5, 1, 2, 3, 4])
    buf = ins(buf, ramp(6, 4))  # slots 1, 2, 3, 4
    np.testing.assert_array_equal(np.asarray(buf.data.reward), [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(np.asarray(buf.data.next_obs[:, 0]), np.array([5, 6, 7, 8, 9]) + 0.5)
    assert int(buf.insert_pos) == 0


def test_sampling_stays_in_filled_region():
    buf = replay.insert(replay.init_buffer(100, 3, 2), ramp(1, 7))
    batch = jax.jit(replay.sample, static_argnums=2)(buf, jax.random.key(0), 4096)
    r = np.asarray(batch.reward)
    assert r.min() >= 1 and r.max() <= 7
    assert set(np.unique(r).tolist()) == set(range(1, 8))
    # rows stay aligned across fields
    np.testing.assert_allclose(np.asarray(batch.obs[:, 0]), r)


def test_vmapped_buffers_are_independent():
    bufs = jax.vmap(lambda _: replay.init_buffer(4, 3, 2))(jnp.arange(2))
    batches = jax.tree.map(lambda a, b: jnp.stack([a, b]), ramp(0, 3), ramp(10, 3))
    bufs = jax.vmap(replay.insert)(bufs, batches)
    np.testing.assert_array_equal(np.asarray(bufs.data.reward), [[0, 1, 2, 0], [10, 11, 12, 0]])


def test_bytes_per_transition_and_bad_sizes():
    assert replay.bytes_per_transition(27, 8) == 260
    assert replay.bytes_per_transition(111, 8) == 932
    buf = replay.init_buffer(10, 27, 8)
    stored = sum(x.nbytes for x in jax.tree.leaves(buf.data))
    assert stored == 10 * replay.bytes_per_transition(27, 8)
    with pytest.raises(ValueError):
        replay.init_buffer(0, 3, 2)
    with pytest.raises(ValueError):
        replay.insert(replay.init_buffer(2, 3, 2), ramp(0, 3))
