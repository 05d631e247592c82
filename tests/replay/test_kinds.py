"""replay.kinds: the three replays behind one interface (init, insert, uniform sample, the U
updates' batches, bytes per row, rows and gather on a restored buffer)."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.envs.base import EnvSpec
from largerl_jax.replay import Transition
from largerl_jax.replay import frames as fr
from largerl_jax.replay.kinds import (FrameReplay, PrioritizedReplay, UniformReplay, gather_rows, replay_kind,
                                      rows_of)

FLAT = EnvSpec("toy", obs_dim=3, act_dim=2, episode_length=10)
PIXELS = EnvSpec("toy_pixels", obs_dim=12, act_dim=2, episode_length=10, frame_shape=(2, 2, 3))
N = 2
KINDS = {
    "uniform": (UniformReplay(), FLAT),
    "prioritized": (PrioritizedReplay(alpha=0.6, beta0=0.4, eps=1e-6, beta_steps=10), FLAT),
    "frames": (FrameReplay(stack=2), PIXELS),
}


def _step(spec, t: int):
    """One step of N envs whose observations all hold the value t."""
    shape = (N, spec.obs_dim) if spec.frame_shape is None else (N, *spec.frame_shape)
    dtype = np.float32 if spec.frame_shape is None else np.uint8
    fields = dict(obs=np.full(shape, t, dtype), action=np.full((N, spec.act_dim), t, np.float32),
                  reward=np.full(N, t, np.float32), next_obs=np.full(shape, t + 1, dtype),
                  terminated=np.zeros(N, np.float32), truncated=np.zeros(N, np.float32))
    if spec.frame_shape is None:
        return Transition(**fields)
    return fr.FrameTransition(**fields, episode_start=np.full(N, float(t == 0), np.float32))


def _filled(kind, spec, steps=5):
    buffer = kind.init(16, spec, N)
    for t in range(steps):
        buffer = kind.insert(buffer, _step(spec, t))
    return buffer


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_stores_and_samples_through_one_interface(name):
    kind, spec = KINDS[name]
    buffer = _filled(kind, spec)
    batch = kind.sample(buffer, jax.random.PRNGKey(0), (3, 4))
    assert batch.reward.shape == (3, 4) and batch.action.shape == (3, 4, spec.act_dim)
    # every sampled transition is a stored one: next observation = observation + 1 = reward + 1
    obs = np.asarray(batch.obs, np.float32).reshape(3, 4, -1)
    np.testing.assert_array_equal(obs[..., -1], np.asarray(batch.reward))
    np.testing.assert_array_equal(np.asarray(batch.next_obs, np.float32).reshape(3, 4, -1)[..., -1],
                                  np.asarray(batch.reward) + 1)
    assert int(np.asarray(rows_of(buffer).valid).sum()) == 5 * N
    idx = jnp.flatnonzero(rows_of(buffer).valid, size=5 * N)
    np.testing.assert_array_equal(np.sort(np.asarray(gather_rows(buffer, idx).reward)), np.repeat(np.arange(5.0), N))
    assert kind.bytes_per_row(spec) > 0 and kind.min_rows(N) >= 2 * N
    broken = kind.break_episodes(buffer)
    assert jax.tree.structure(broken) == jax.tree.structure(buffer)


@pytest.mark.parametrize("name", list(KINDS))
def test_updates_run_u_steps_and_count_them(name):
    kind, spec = KINDS[name]
    buffer = _filled(kind, spec)
    seen = []

    def update(state, batch, key, weights):
        seen.append(weights is None)
        metrics = {"loss": batch.reward.mean(), "priority": jnp.abs(batch.reward) + 1.0}
        return state + 1.0, metrics

    state, buffer2, key, grad_steps, metrics = kind.updates(
        buffer, jnp.float32(0.0), jax.random.PRNGKey(1), jnp.int32(7), 3, 4, update, None)
    assert float(state) == 3.0 and int(grad_steps) == 10 and metrics["loss"].shape == (3,)
    assert "priority" not in metrics
    assert seen[0] == (name != "prioritized")  # only the prioritized kind weights its batches
    if name == "prioritized":
        assert float(metrics["per_beta"][0]) == pytest.approx(0.4 + 0.6 * 7 / 10)
        assert not np.array_equal(np.asarray(buffer2.sum_tree), np.asarray(buffer.sum_tree))  # re-prioritised


def test_the_run_picks_its_kind_and_refuses_prioritized_frames():
    per = KINDS["prioritized"][0]
    assert replay_kind() == UniformReplay() and replay_kind(priority=per) is per
    assert replay_kind(frame_stack=3) == FrameReplay(3)
    with pytest.raises(ValueError, match="not supported for pixel agents"):
        replay_kind(frame_stack=3, priority=per)
    with pytest.raises(ValueError, match="flat observations"):
        FrameReplay(3).init(16, FLAT, N)


@pytest.mark.parametrize("name", list(KINDS))
def test_nstep_batches_in_every_kind_and_one_step_for_the_auxiliary_model(name):
    """Envs whose step t stores observation t and reward t, 5 steps: the 3-step transition of
    step t takes min(3, 5 - t) steps (the newest is step 4: the ring's write position) and
    bootstraps from observation t + steps; the auxiliary model sees the one-step transition."""
    kind, spec = KINDS[name]
    kind = dataclasses.replace(kind, nstep=3)
    buffer = _filled(kind, spec)
    aux_is_one_step = []
    last = lambda x, like: x.astype(jnp.float32).reshape(*like.shape, -1)[..., -1]  # noqa: E731

    def update(state, batch, key, weights):  # traced inside the kinds' scans: report through metrics
        return state, {"reward": batch.reward, "steps": batch.steps, "rewards": batch.rewards,
                       "next_last": last(batch.next_obs, batch.reward), "priority": jnp.ones_like(batch.reward)}

    def aux(state, batch, key):
        aux_is_one_step.append(batch.steps is None)
        return state, {"aux_reward": batch.reward, "aux_next_last": last(batch.next_obs, batch.reward)}

    *_, metrics = kind.updates(buffer, jnp.float32(0.0), jax.random.PRNGKey(3), jnp.int32(0), 2, 8, update,
                               None if name == "prioritized" else aux)
    t, steps = np.asarray(metrics["reward"]), np.asarray(metrics["steps"])
    np.testing.assert_array_equal(steps, np.minimum(3, 5 - t))
    assert set(np.unique(steps)) >= {1, 3}  # cut at the write position and full length both drawn
    want = np.where(np.arange(3) < steps[..., None], t[..., None] + np.arange(3), 0.0)
    np.testing.assert_array_equal(np.asarray(metrics["rewards"]), want)
    np.testing.assert_array_equal(np.asarray(metrics["next_last"]), t + steps)
    if name != "prioritized":
        assert aux_is_one_step and all(aux_is_one_step)
        np.testing.assert_array_equal(np.asarray(metrics["aux_next_last"]), np.asarray(metrics["aux_reward"]) + 1)
    assert replay_kind(nstep=3) == UniformReplay(3) and replay_kind(frame_stack=2, nstep=3) == FrameReplay(2, 3)
    with pytest.raises(ValueError, match="n >= 1"):
        replay_kind(nstep=0)
