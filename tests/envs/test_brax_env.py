"""Brax/MJX checks. MJX compiles slowly on CPU, so most checks share one compiled rollout of
the small inverted_pendulum task (which falls over quickly under random actions)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.envs import BraxVecEnv

N, HORIZON, T = 6, 12, 60


def _rollout_fn(env, num_steps):
    def rollout(state, key):
        def body(s, k):
            a = jax.random.uniform(k, (env.num_envs, env.spec.act_dim), minval=-1.0, maxval=1.0)
            s, out = env.step(s, a)
            return s, (out, s.obs, s.t)

        final, traj = jax.lax.scan(body, state, jax.random.split(key, num_steps))
        return final, traj

    return jax.jit(rollout)


def _run(env, num_steps, key):
    k_reset, k_act = jax.random.split(key)
    first = jax.jit(env.reset)(k_reset)
    final, traj = _rollout_fn(env, num_steps)(first, k_act)
    return first, final, traj


@pytest.fixture(scope="module")
def pendulum_env():
    env = BraxVecEnv("inverted_pendulum", N, backend="mjx", episode_length=HORIZON)
    return env, _rollout_fn(env, T)


@pytest.fixture(scope="module")
def pendulum_rollout(pendulum_env):
    env, rollout = pendulum_env
    k_reset, k_act = jax.random.split(jax.random.PRNGKey(0))
    first = jax.jit(env.reset)(k_reset)
    final, (out, obs, t) = rollout(first, k_act)
    return env, first, final, jax.tree_util.tree_map(np.asarray, (out, obs, t))


def test_spec_and_dtypes(pendulum_rollout):
    env, first, _, (out, obs, t) = pendulum_rollout
    assert env.spec.obs_dim == 4 and env.spec.act_dim == 1 and env.spec.episode_length == HORIZON
    assert first.obs.shape == (N, 4) and first.obs.dtype == jnp.float32
    assert out.next_obs.shape == (T, N, 4) and out.next_obs.dtype == np.float32
    for x in (out.reward, out.terminated, out.truncated):
        assert x.shape == (T, N) and x.dtype == np.float32
    assert t.dtype == np.int32


def test_no_nans(pendulum_rollout):
    _, _, _, (out, obs, _) = pendulum_rollout
    assert np.isfinite(out.next_obs).all() and np.isfinite(obs).all() and np.isfinite(out.reward).all()


def test_termination_autoreset_and_final_obs(pendulum_rollout):
    _, first, _, (out, obs, t) = pendulum_rollout
    term, trunc = out.terminated.astype(bool), out.truncated.astype(bool)
    assert term.any(), "random actions should topple the pole within the rollout"
    assert not (term & trunc).any()
    done = term | trunc
    # The true final observation is kept: the pole angle exceeded Brax's 0.2 rad limit,
    # while the reset pole starts within +-0.01 rad.
    assert (np.abs(out.next_obs[..., 1][term]) > 0.2).all()
    assert (np.abs(obs[..., 1][done]) <= 0.011).all()
    np.testing.assert_array_equal(t[done], 0)
    # Envs that did not finish carry on untouched.
    np.testing.assert_array_equal(obs[~done], out.next_obs[~done])
    prev_t = np.concatenate([np.asarray(first.t)[None], t[:-1]])
    np.testing.assert_array_equal(t[~done], prev_t[~done] + 1)


def test_truncation_at_episode_length(pendulum_rollout):
    _, first, _, (out, _, t) = pendulum_rollout
    trunc = out.truncated.astype(bool)
    assert trunc.any(), "some pole should stay up for the whole short episode"
    prev_t = np.concatenate([np.asarray(first.t)[None], t[:-1]])
    np.testing.assert_array_equal(trunc, (prev_t + 1 >= HORIZON) & ~out.terminated.astype(bool))
    assert (t < HORIZON).all()


def test_blown_up_physics_terminates_and_resets(pendulum_env, pendulum_rollout):
    env, rollout = pendulum_env
    first = pendulum_rollout[1]
    ps = first.inner.pipeline_state
    poisoned = first.replace(inner=first.inner.replace(
        pipeline_state=ps.replace(qvel=ps.qvel.at[0].set(jnp.nan))))
    _, (out, obs, t) = rollout(poisoned, jax.random.PRNGKey(1))  # same shapes: no recompile
    assert float(out.terminated[0, 0]) == 1.0 and float(out.truncated[0, 0]) == 0.0
    np.testing.assert_array_equal(out.next_obs[0, 0], np.zeros(4))
    assert float(out.reward[0, 0]) == 0.0
    assert np.isfinite(np.asarray(obs)).all() and int(t[0, 0]) == 0


def test_vmap_over_seeds():
    env = BraxVecEnv("inverted_pendulum", 2, backend="mjx", episode_length=5)
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    first, final, (out, obs, t) = jax.vmap(lambda k: _run(env, 8, k))(keys)
    assert out.next_obs.shape == (2, 8, 2, 4)
    assert np.isfinite(np.asarray(out.next_obs)).all()
    assert (np.asarray(out.terminated) + np.asarray(out.truncated)).sum() > 0
    assert not np.allclose(first.obs[0], first.obs[1])


def test_other_backend_builds():
    env = BraxVecEnv("inverted_pendulum", 2, backend="positional")
    assert env.spec.obs_dim == 4 and env.backend == "positional"


@pytest.mark.slow
def test_ant_short_rollout():
    env = BraxVecEnv("ant", 2, backend="mjx", episode_length=4)
    assert (env.spec.obs_dim, env.spec.act_dim) == (27, 8)
    _, final, (out, obs, t) = _run(env, 6, jax.random.PRNGKey(0))
    assert np.isfinite(np.asarray(out.next_obs)).all() and np.isfinite(np.asarray(out.reward)).all()
    done = np.asarray(out.terminated + out.truncated)
    assert done[3].all()  # time limit at step 4 unless it fell first
    np.testing.assert_array_equal(np.asarray(t)[3], 0)


def test_resets_run_only_for_envs_that_ended(monkeypatch):
    """Up to an eighth of the batch resets through a K-env reset; the states equal those of a
    whole-batch reset (each env draws from its own key)."""
    import largerl_jax.envs.resets as resets

    def rollout_with_reset_sizes(env):
        sizes = []
        full = env._reset_batch

        def counted(keys):
            jax.debug.callback(lambda: sizes.append(keys.shape[0]))
            return full(keys)

        env._reset_batch = counted
        first, _, (out, obs, t) = _run(env, 40, jax.random.PRNGKey(7))
        jax.effects_barrier()
        return sizes, out, obs

    n = 16
    sizes, out, obs = rollout_with_reset_sizes(BraxVecEnv("inverted_pendulum", n, backend="mjx", episode_length=25))
    assert resets.max_resets_per_step(n) == 2
    ended = np.asarray(jnp.maximum(out.terminated, out.truncated)).sum(axis=1)
    steps_with_ends = int((ended > 0).sum())
    assert steps_with_ends > 5
    # the initial reset of all 16, then one reset per step with an end: 2 envs when at most 2
    # ended, all 16 otherwise; none on the other steps
    assert sorted(sizes) == sorted([n] + [2 if e <= 2 else n for e in ended if e > 0])
    assert sizes.count(2) > 0

    monkeypatch.setattr(resets, "max_resets_per_step", lambda batch: batch)  # always the whole batch
    sizes_all, out_all, obs_all = rollout_with_reset_sizes(BraxVecEnv("inverted_pendulum", n, backend="mjx", episode_length=25))
    assert sizes_all == [n] * (1 + steps_with_ends)
    np.testing.assert_allclose(np.asarray(obs), np.asarray(obs_all), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(out.terminated), np.asarray(out_all.terminated))
