import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from largerl_jax import replay
from fake_transitions import fill_stream, flat_buffer, ramp, stream_step


def test_one_stream_stores_each_observation_once():
    buf = fill_stream(replay.init_buffer(8, 3, 2), 0, 5)
    # rows 0-4 hold steps 0-4, row 5 the next observation of step 4, not yet a transition
    np.testing.assert_array_equal(np.asarray(buf.obs[:6, 0]), [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(np.asarray(buf.valid), [1, 1, 1, 1, 1, 0, 0, 0])
    assert int(replay.num_valid(buf)) == 5 and int(buf.pos[0]) == 5 and int(buf.filled[0]) == 6
    got = replay.stored_transitions(buf)
    np.testing.assert_array_equal(got.reward, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(got.next_obs[:, 0], got.obs[:, 0] + 1)
    np.testing.assert_array_equal(got.action[:, 0], got.reward)


def test_episode_end_keeps_the_true_final_observation():
    buf = replay.init_buffer(8, 3, 2)
    buf = fill_stream(buf, 0, 3)
    buf = replay.insert(buf, stream_step(3, done=True).replace(terminated=jnp.ones(1)))  # final obs 3.5
    buf = fill_stream(buf, 10, 2)  # a new episode starts from a reset observation, 10
    got = replay.stored_transitions(buf)
    np.testing.assert_array_equal(got.reward, [0, 1, 2, 3, 10, 11])
    np.testing.assert_array_equal(got.next_obs[:, 0], [1, 2, 3, 3.5, 11, 12])
    np.testing.assert_array_equal(got.terminated, [0, 0, 0, 1, 0, 0])
    # row 4 holds the final observation and is never a transition
    assert float(buf.obs[4, 0]) == 3.5 and not bool(buf.valid[4])


def _check_against_streams(buf, streams, length):
    """Each env's valid rows are exactly the newest suffix of its steps that fits in its ring."""
    got = replay.stored_transitions(buf)
    assert int(replay.num_valid(buf)) == len(got.reward) == int(np.asarray(buf.valid).sum())
    by_id = {int(r): i for i, r in enumerate(got.reward)}
    for e, steps in enumerate(streams):
        kept = [s for s in steps if s["id"] in by_id]
        assert kept == steps[len(steps) - len(kept):], f"env {e} keeps a non-suffix"
        for s in kept:
            i = by_id[s["id"]]
            assert got.obs[i, 0] == s["obs"] and got.next_obs[i, 0] == s["next_obs"]
            assert got.truncated[i] == s["done"] and got.action[i, 0] == s["id"]
        # a row per step, a final-observation row per episode end, and the tail row unless the
        # newest step ended an episode (its final-observation row is then the last one)
        rows = len(kept) + sum(s["done"] for s in kept) + (1 - kept[-1]["done"])
        assert rows <= length
        if len(kept) < len(steps):  # one more step would not have fit
            older = steps[len(steps) - len(kept) - 1]
            assert rows + 1 + older["done"] > length


def test_random_episode_ends_and_wraparound_match_the_streams():
    rng = np.random.default_rng(0)
    num_envs, length, obs_dim = 3, 7, 2
    buf = replay.init_buffer(num_envs * length, obs_dim, 1, num_envs=num_envs)
    ins = jax.jit(replay.insert)
    streams = [[] for _ in range(num_envs)]
    obs = np.arange(num_envs) * 1000.0
    for t in range(60):
        ids = np.arange(num_envs) * 1000 + 100 + t
        done = rng.random(num_envs) < 0.25
        final = ids + 0.5
        nxt = np.where(done, final, ids + 1 + 0.25)  # the next step's obs
        batch = replay.Transition(
            obs=jnp.tile(jnp.asarray(obs, jnp.float32)[:, None], (1, obs_dim)),
            action=jnp.asarray(ids, jnp.float32)[:, None],
            reward=jnp.asarray(ids, jnp.float32),
            next_obs=jnp.tile(jnp.asarray(nxt, jnp.float32)[:, None], (1, obs_dim)),
            terminated=jnp.zeros(num_envs),
            truncated=jnp.asarray(done, jnp.float32),
        )
        buf = ins(buf, batch)
        for e in range(num_envs):
            streams[e].append({"id": int(ids[e]), "obs": obs[e], "next_obs": nxt[e], "done": float(done[e])})
        reset_obs = -(ids + 1.0)  # a fresh episode starts somewhere else
        obs = np.where(done, reset_obs, nxt)
        _check_against_streams(buf, streams, length)


def test_sampling_is_uniform_over_valid_rows():
    # 2 envs, rings of 16: 12 steps each with episode ends every 4 steps leave final-observation
    # rows, tail rows and unfilled rows, none of which may be drawn.
    buf = replay.init_buffer(32, 3, 2, num_envs=2)
    ins = jax.jit(replay.insert)
    for i in range(12):
        step = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), stream_step(i, done=(i + 1) % 4 == 0),
                            stream_step(100 + i, done=(i + 1) % 3 == 0))
        buf = ins(buf, step)
    valid = np.flatnonzero(np.asarray(buf.valid))
    assert len(valid) == 24
    idx = np.asarray(jax.jit(replay.sample_indices, static_argnums=2)(buf, jax.random.key(0), 48_000))
    assert set(np.unique(idx).tolist()) == set(valid.tolist())
    counts = np.bincount(idx, minlength=32)[valid]
    assert stats.chisquare(counts).pvalue > 1e-3
    batch = replay.gather(buf, jnp.asarray(idx[:500]))
    np.testing.assert_array_equal(np.asarray(batch.obs[:, 0]), np.asarray(batch.reward))


def test_flat_buffer_holds_exactly_the_batch():
    batch = ramp(0, 6)
    buf = flat_buffer(batch)
    got = replay.stored_transitions(buf)
    np.testing.assert_array_equal(got.reward, np.arange(6))
    np.testing.assert_array_equal(got.next_obs, np.asarray(batch.next_obs))
    sampled = replay.sample(buf, jax.random.key(0), 1000)
    assert set(np.unique(np.asarray(sampled.reward)).tolist()) == set(range(6))


def test_vmapped_buffers_are_independent():
    bufs = jax.vmap(lambda _: replay.init_buffer(4, 3, 2))(jnp.arange(2))
    batches = jax.tree.map(lambda a, b: jnp.stack([a, b]), stream_step(0), stream_step(10))
    bufs = jax.vmap(replay.insert)(bufs, batches)
    np.testing.assert_array_equal(np.asarray(bufs.reward), [[0, 0, 0, 0], [10, 0, 0, 0]])
    np.testing.assert_array_equal(np.asarray(bufs.obs[:, :2, 0]), [[0, 1], [10, 11]])


def test_break_episodes_keeps_the_last_next_observation():
    buf = fill_stream(replay.init_buffer(8, 3, 2), 0, 3)
    buf = replay.break_episodes(buf)
    buf = fill_stream(buf, 50, 1)  # a resumed host env starts a fresh episode
    got = replay.stored_transitions(buf)
    np.testing.assert_array_equal(got.next_obs[:, 0], [1, 2, 3, 51])
    empty = replay.init_buffer(8, 3, 2)
    assert int(replay.break_episodes(empty).pos[0]) == 0


def test_bytes_per_transition_and_bad_sizes():
    # obs once + action + reward (float32) + terminated, truncated, valid (one byte each)
    assert replay.bytes_per_transition(27, 8) == 147
    assert replay.bytes_per_transition(111, 8) == 483  # Gymnasium Ant-v4: 1M rows in 483 MB
    assert replay.bytes_per_transition(9 * 84 * 84, 6, jnp.uint8) == 9 * 84 * 84 + 31
    buf = replay.init_buffer(10, 27, 8, num_envs=2)
    stored = sum(x.nbytes for x in jax.tree.leaves(buf) if x.ndim > 0 and x.shape[0] == 10)
    assert stored == 10 * replay.bytes_per_transition(27, 8) == replay.buffer_nbytes(10, 27, 8, 2)
    assert replay.init_buffer(11, 3, 2, num_envs=2).capacity == 10  # rounded down to the envs
    with pytest.raises(ValueError, match="at least 2"):
        replay.init_buffer(3, 3, 2, num_envs=2)
    with pytest.raises(ValueError, match="one transition per env"):
        replay.insert(replay.init_buffer(8, 3, 2), ramp(0, 3))
