import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.replay import buffer as rb
from largerl_jax.replay import frames as fr

SHAPE = (2, 2, 3)  # tiny frames: every pixel of frame i holds the value i
K = 3


def frame(i):
    return np.full(SHAPE, i, np.uint8)


def ids(stacks):
    """[..., H, W, 3k] -> [..., k]: the frame ids of stacks, oldest first."""
    return np.asarray(stacks)[..., 0, 0, ::3]


_insert = jax.jit(fr.insert)


def put(replay, obs, next_obs, start, done=(0,), truncated=None):
    n = len(obs)
    done = np.asarray(done, np.float32)
    trunc = np.zeros(n, np.float32) if truncated is None else np.asarray(truncated, np.float32)
    return _insert(replay, np.stack([frame(i) for i in obs]), np.zeros((n, 1), np.float32),
                   np.ones(n, np.float32), np.stack([frame(i) for i in next_obs]), done, trunc,
                   np.asarray(start, np.float32))


def test_stacks_repeat_the_first_frame_across_a_reset():
    replay = fr.init_frame_replay(16, act_dim=1, stack=K, frame_shape=SHAPE)
    # episode A: frames 1..4 (3 steps, terminated at 4); episode B: frames 10..13
    replay = put(replay, [1], [2], [1])
    replay = put(replay, [2], [3], [0])
    replay = put(replay, [3], [4], [0], done=[1])
    replay = put(replay, [10], [11], [1])
    replay = put(replay, [11], [12], [0])
    replay = put(replay, [12], [13], [0])
    # rows: 0..2 episode A, 3 its final frame, 4..6 episode B, 7 its next frame
    batch = fr.gather(replay, jnp.array([0, 1, 2, 4, 5, 6]))
    np.testing.assert_array_equal(ids(batch.obs), [[1, 1, 1], [1, 1, 2], [1, 2, 3], [10, 10, 10], [10, 10, 11], [10, 11, 12]])
    np.testing.assert_array_equal(ids(batch.next_obs), [[1, 1, 2], [1, 2, 3], [2, 3, 4], [10, 10, 11], [10, 11, 12], [11, 12, 13]])
    np.testing.assert_array_equal(batch.terminated, [0, 0, 1, 0, 0, 0])
    assert batch.obs.shape == (6, 2, 2, 9) and batch.obs.dtype == jnp.uint8
    assert not bool(replay.core.valid[3]) and not bool(replay.core.valid[7])


def test_stacks_across_the_ring_wrap():
    length = 8
    replay = fr.init_frame_replay(length, act_dim=1, stack=K, frame_shape=SHAPE)
    # one long episode, frames 1..12: the last rows written wrap to rows 0..3
    for t in range(1, 12):
        replay = put(replay, [t], [t + 1], [t == 1])
    valid = np.flatnonzero(np.asarray(replay.core.valid))
    rows = {int(r): int(np.asarray(replay.frames)[r, 0, 0, 0]) for r in valid}
    batch = fr.gather(replay, jnp.asarray(valid))
    for r, obs, nxt in zip(valid, ids(batch.obs), ids(batch.next_obs)):
        t = rows[int(r)]
        np.testing.assert_array_equal(obs, [max(t - 2, 1), max(t - 1, 1), t], err_msg=f"row {r}")
        np.testing.assert_array_equal(nxt, [max(t - 1, 1), t, t + 1], err_msg=f"row {r}")
    # the newest rows wrapped past the ring start, and the oldest survivor's history is gone
    assert {0, 1, 2} <= set(valid.tolist())
    # row 3 holds the newest next frame (12); frames 5 and 6 (rows 4, 5) would stack it: out
    assert min(rows.values()) == 7 and 3 not in rows


def _simulate(num_envs, length, steps, seed):
    """Random episodes through the replay and through a DrQ-style deque, side by side."""
    rng = np.random.default_rng(seed)
    replay = fr.init_frame_replay(num_envs * length, act_dim=1, num_envs=num_envs, stack=K, frame_shape=SHAPE)
    counter = iter(range(1, 256))
    stacks = [collections.deque([next(counter)] * K, maxlen=K) for _ in range(num_envs)]
    start = np.ones(num_envs)
    acting = fr.initial_stack(jnp.stack([frame(s[-1]) for s in stacks]), K)
    expected = {}
    for _ in range(steps):
        obs = [s[-1] for s in stacks]
        nxt = [next(counter) for _ in range(num_envs)]
        done = rng.random(num_envs) < 0.25
        trunc = done & (rng.random(num_envs) < 0.5)
        rows, _ = rb.insert_rows(replay.core)
        for e in range(num_envs):
            np.testing.assert_array_equal(ids(acting[e]), list(stacks[e]))  # what the actor saw
            expected[int(rows[e])] = (list(stacks[e]), list(stacks[e])[1:] + [nxt[e]], bool(done[e] and not trunc[e]))
        replay = put(replay, obs, nxt, start, done & ~trunc, trunc)
        for e in range(num_envs):
            if done[e]:
                stacks[e] = collections.deque([next(counter)] * K, maxlen=K)
            else:
                stacks[e].append(nxt[e])
        start = done.astype(np.float32)
        acting = fr.push_frame(acting, jnp.stack([frame(s[-1]) for s in stacks]), start)
    return replay, expected


@pytest.mark.parametrize("num_envs,length,steps", [(1, 9, 40), (3, 12, 50)])
def test_every_sampleable_stack_matches_a_frame_stack_wrapper(num_envs, length, steps):
    replay, expected = _simulate(num_envs, length, steps, seed=num_envs)
    valid = np.flatnonzero(np.asarray(replay.core.valid))
    # every env's ring has wrapped; only the tail, final-frame and stale-history rows are out
    assert len(valid) >= num_envs * (length - 3) // 2
    batch = fr.gather(replay, jnp.asarray(valid))
    for i, r in enumerate(valid):
        obs, nxt, terminated = expected[int(r)]
        np.testing.assert_array_equal(ids(batch.obs[i]), obs, err_msg=f"obs of row {r}")
        np.testing.assert_array_equal(ids(batch.next_obs[i]), nxt, err_msg=f"next obs of row {r}")
        assert float(batch.terminated[i]) == terminated


def test_sample_draws_valid_rows_only():
    replay, _ = _simulate(2, 10, 30, seed=5)
    batch = jax.jit(fr.sample, static_argnums=2)(replay, jax.random.PRNGKey(0), 64)
    assert batch.obs.shape == (64, 2, 2, 9) and batch.next_obs.dtype == jnp.uint8
    # each sampled stack ends in the frame that the next stack holds one position earlier
    np.testing.assert_array_equal(ids(batch.obs)[:, 1:], ids(batch.next_obs)[:, :-1])


def test_bytes_per_transition():
    assert fr.bytes_per_transition(act_dim=6) == 84 * 84 * 3 + 4 * 6 + 4 + 4 == 21200
    assert fr.frame_replay_nbytes(100_000, act_dim=6, num_envs=4) == 100_000 * 21200
    with pytest.raises(ValueError, match="at least 5 rows"):
        fr.init_frame_replay(8, act_dim=1, num_envs=2, stack=3)


def test_insert_and_sample_update_the_frames_in_place():
    """A step's insert and sample compile without copying the 2 GB of frames (abstract shapes:
    nothing is allocated)."""
    from largerl_jax.training.copy_audit import audit_replay_copies

    capacity, n = 100_000, 4
    replay = jax.eval_shape(lambda: fr.init_frame_replay(capacity, act_dim=6, num_envs=n))
    u8 = jax.ShapeDtypeStruct((n, 84, 84, 3), jnp.uint8)
    f32 = lambda *s: jax.ShapeDtypeStruct((n, *s), jnp.float32)  # noqa: E731

    def step(replay, frame, action, reward, next_frame, terminated, truncated, start, key):
        replay = fr.insert(replay, frame, action, reward, next_frame, terminated, truncated, start)
        return replay, fr.sample(replay, key, 512)

    compiled = jax.jit(step, donate_argnums=0).lower(
        replay, u8, f32(6), f32(), u8, f32(), f32(), f32(), jax.ShapeDtypeStruct((2,), jnp.uint32)).compile()
    audit = audit_replay_copies(compiled, replay, capacity)
    assert audit.ok, audit.copies
    assert audit.temp_bytes < audit.largest_replay_array_bytes / 10
