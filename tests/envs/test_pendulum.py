import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.envs import PendulumVecEnv
from largerl_jax.envs.pendulum import _obs, pendulum_dynamics


def test_matches_gymnasium_step_for_step():
    env = PendulumVecEnv(num_envs=1, episode_length=10_000)
    step = jax.jit(env.step)
    state = env.reset(jax.random.PRNGKey(0))
    ref = gym.make("Pendulum-v1").unwrapped
    ref.reset(seed=0)
    rng = np.random.default_rng(0)
    for i in range(500):
        # Out-of-range actions too, to check the torque clipping; occasional kicks make
        # the pendulum spin past +-pi and hit the speed limit.
        action = rng.uniform(-1.5, 1.5, size=(1, 1)).astype(np.float32)
        if i % 50 == 0:
            state = state.replace(inner=(state.inner[0], jnp.full((1,), 7.9, jnp.float32)))
        theta, thetadot = (float(x[0]) for x in state.inner)
        ref.state = np.array([theta, thetadot], dtype=np.float64)
        ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(2.0 * action[0].astype(np.float64))
        state, out = step(state, jnp.asarray(action))
        np.testing.assert_allclose(np.asarray(out.next_obs[0]), ref_obs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(float(out.reward[0]), ref_reward, atol=1e-5, rtol=1e-6)
        assert float(out.terminated[0]) == 0.0 and float(out.truncated[0]) == 0.0


def test_truncates_and_autoresets():
    n, horizon = 3, 7
    env = PendulumVecEnv(num_envs=n, episode_length=horizon)
    step = jax.jit(env.step)
    state = env.reset(jax.random.PRNGKey(1))
    assert state.obs.shape == (n, 3) and state.obs.dtype == jnp.float32
    action = jnp.zeros((n, 1))
    for t in range(1, horizon + 1):
        prev = state
        state, out = step(state, action)
        assert out.reward.shape == (n,) and out.reward.dtype == jnp.float32
        assert out.terminated.dtype == jnp.float32 and out.truncated.dtype == jnp.float32
        np.testing.assert_array_equal(out.terminated, np.zeros(n))
        expected = np.ones(n) if t == horizon else np.zeros(n)
        np.testing.assert_array_equal(out.truncated, expected)
    # next_obs is where the last action led from the pre-step state, not the reset one.
    th, thd = prev.inner
    th1, thd1, _ = pendulum_dynamics(th, thd, jnp.zeros(n))
    np.testing.assert_allclose(out.next_obs, _obs(th1, thd1), atol=1e-6)
    assert not np.allclose(out.next_obs, state.obs)
    np.testing.assert_array_equal(state.t, np.zeros(n, np.int32))
    np.testing.assert_allclose(state.obs, _obs(*state.inner), atol=1e-6)
    assert np.all(np.abs(np.asarray(state.inner[1])) <= 1.0)


def test_jit_vmap_over_seeds():
    env = PendulumVecEnv(num_envs=4, episode_length=5)

    def rollout(key):
        state = env.reset(key)

        def body(s, k):
            a = jax.random.uniform(k, (env.num_envs, 1), minval=-1, maxval=1)
            s, out = env.step(s, a)
            return s, out

        return jax.lax.scan(body, state, jax.random.split(key, 12))

    state, outs = jax.jit(jax.vmap(rollout))(jax.random.split(jax.random.PRNGKey(0), 2))
    assert state.obs.shape == (2, 4, 3)
    assert outs.reward.shape == (2, 12, 4)
    # Truncation at steps 5 and 10 for every seed and env.
    np.testing.assert_array_equal(outs.truncated.sum(axis=1), np.full((2, 4), 2.0))
    assert not np.allclose(state.obs[0], state.obs[1])
    assert np.isfinite(np.asarray(outs.reward)).all()
