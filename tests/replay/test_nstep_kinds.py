"""n-step batches of every replay kind (uniform, prioritized, frames) against a brute-force walk
over each env's logged stream: random terminations and truncations, rings that wrap several
times, n = 1, 3, 8. Transitions are named by their action (env, step), so every sampled row can
be looked up in the log; the bootstrap observation is checked through its encoded step."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.envs.base import EnvSpec
from largerl_jax.replay import Transition
from largerl_jax.replay import frames as fr
from largerl_jax.replay.kinds import FrameReplay, PrioritizedReplay, UniformReplay

N, RING, STEPS = 3, 16, 60  # each ring wraps about 4 times
FLAT = EnvSpec("toy", obs_dim=2, act_dim=2, episode_length=10)
PIXELS = EnvSpec("toy_pixels", obs_dim=12, act_dim=2, episode_length=10, frame_shape=(2, 2, 3))
KINDS = {
    "uniform": (lambda n: UniformReplay(n), FLAT),
    "prioritized": (lambda n: PrioritizedReplay(alpha=0.6, beta0=0.4, eps=1e-6, beta_steps=10, nstep=n), FLAT),
    "frames": (lambda n: FrameReplay(stack=2, nstep=n), PIXELS),
}


def _code(t: float) -> float:
    """An observation's value: its step (+0.5 for a true final observation, +0.25 after a reset),
    times 4 so that frames hold it exactly as uint8 (steps below 60)."""
    return 4 * t


def _stream(kind, spec, seed: int):
    rng = np.random.default_rng(seed)
    buffer = kind.init(N * RING, spec, N)
    logs = [[] for _ in range(N)]
    obs_t = np.zeros(N)
    start = np.ones(N)
    for t in range(STEPS):
        u = rng.random(N)
        term, trunc = (u < 0.08).astype(np.float32), ((u >= 0.08) & (u < 0.16)).astype(np.float32)
        reward = rng.normal(size=N).astype(np.float32)
        ended = (term + trunc) > 0
        next_t = t + 1 + 0.5 * ended
        action = np.stack([np.arange(N), np.full(N, t)], 1).astype(np.float32)  # names the transition
        if spec.frame_shape is None:
            o = np.repeat(_code(obs_t)[:, None], spec.obs_dim, 1).astype(np.float32)
            no = np.repeat(_code(next_t)[:, None], spec.obs_dim, 1).astype(np.float32)
            buffer = kind.insert(buffer, Transition(obs=o, action=action, reward=reward, next_obs=no,
                                                    terminated=term, truncated=trunc))
        else:
            frame = lambda v: np.broadcast_to(_code(v)[:, None, None, None], (N, *spec.frame_shape)).astype(np.uint8)  # noqa: E731
            buffer = kind.insert(buffer, fr.FrameTransition(
                obs=frame(obs_t), action=action, reward=reward, next_obs=frame(next_t), terminated=term,
                truncated=trunc, episode_start=start.astype(np.float32)))
        for e in range(N):
            logs[e].append((reward[e], term[e], trunc[e], next_t[e]))
        obs_t = np.where(ended, t + 1.25, next_t)
        start = ended.astype(np.float64)
    return buffer, logs


def _reference(log, i: int, n: int):
    """(rewards [n], steps, terminated, bootstrap observation's step) of log entry i."""
    rewards, j = [], i
    while True:
        r, term, trunc, nxt = log[j]
        rewards.append(r)
        if term or trunc or len(rewards) == n or j == len(log) - 1:  # j == newest: the write position
            return rewards + [0.0] * (n - len(rewards)), len(rewards), float(term), nxt
        j += 1


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_draws_the_brute_force_nstep_transition(name, n):
    make, spec = KINDS[name]
    buffer, logs = _stream(make(n), spec, seed=n)

    def update(state, batch, key, weights):  # report the batch through the metrics of the scan
        steps = batch.steps if n > 1 or batch.steps is not None else jnp.ones_like(batch.reward, jnp.int32)
        rewards = batch.rewards if batch.rewards is not None else batch.reward[..., None]
        nxt = batch.next_obs.astype(jnp.float32).reshape(*batch.reward.shape, -1)[..., -1]
        return state, {"action": batch.action, "rewards": rewards, "steps": steps, "terminated": batch.terminated,
                       "next": nxt, "priority": jnp.ones_like(batch.reward)}

    *_, m = make(n).updates(buffer, jnp.float32(0.0), jax.random.PRNGKey(n), jnp.int32(0), 4, 64, update, None)
    action, rewards, steps = np.asarray(m["action"]), np.asarray(m["rewards"]), np.asarray(m["steps"])
    term, nxt = np.asarray(m["terminated"]), np.asarray(m["next"])
    checked = shortened = ended = 0
    for u in range(action.shape[0]):
        for b in range(action.shape[1]):
            e, t = int(action[u, b, 0]), int(action[u, b, 1])
            want_r, want_steps, want_term, want_next = _reference(logs[e], t, n)
            assert int(steps[u, b]) == want_steps, (name, n, e, t)
            np.testing.assert_allclose(rewards[u, b], want_r, atol=1e-6)
            assert float(term[u, b]) == want_term and nxt[u, b] == _code(want_next)
            checked += 1
            shortened += want_steps < n
            ended += want_term > 0
    assert checked == 4 * 64 and ended > 0 and (n == 1 or shortened > 0)  # the edge cases were drawn
