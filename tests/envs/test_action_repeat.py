"""ActionRepeat on a tiny counting env (exact numbers) and on the pure-JAX pendulum."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.envs import PendulumVecEnv, fold_envs, make_env
from largerl_jax.envs.action_repeat import ActionRepeat
from largerl_jax.envs.base import EnvSpec, EnvState, StepResult, env_keys


class CountingEnv:
    """Each env counts its simulator steps c; a step earns c + 10 * action. Env i terminates
    when c reaches ``end_at[i]`` and is truncated at ``episode_length``; resets go to c = 0."""

    def __init__(self, num_envs, episode_length, end_at=None):
        self.num_envs = num_envs
        self.spec = EnvSpec("counting", obs_dim=1, act_dim=1, episode_length=episode_length)
        self.end_at = jnp.asarray(end_at if end_at is not None else [-1] * num_envs, jnp.float32)

    def reset(self, key):
        zeros = jnp.zeros((self.num_envs,), jnp.float32)
        return EnvState(obs=zeros[:, None], t=zeros.astype(jnp.int32), key=env_keys(key, self.num_envs),
                        inner=zeros)

    def step(self, state, action):
        c = state.inner + 1
        t = state.t + 1
        end_at = jnp.resize(self.end_at, c.shape)  # folded batches repeat the pattern
        terminated = c == end_at
        truncated = (t >= self.spec.episode_length) & ~terminated
        done = terminated | truncated
        result = StepResult(next_obs=c[:, None], reward=c + 10.0 * action[:, 0],
                            terminated=terminated.astype(jnp.float32),
                            truncated=truncated.astype(jnp.float32), invalid=terminated.astype(jnp.float32))
        c = jnp.where(done, 0.0, c)
        return EnvState(obs=c[:, None], t=jnp.where(done, 0, t), key=state.key, inner=c), result


def _steps(env, actions, state=None):
    state = env.reset(jax.random.PRNGKey(0)) if state is None else state
    step = jax.jit(env.step)
    out = []
    for a in actions:
        state, res = step(state, jnp.asarray(a, jnp.float32))
        out.append((jax.tree_util.tree_map(np.asarray, state), jax.tree_util.tree_map(np.asarray, res)))
    return out


def test_rewards_summed_with_the_action_held():
    env = ActionRepeat(CountingEnv(2, episode_length=100), 3)
    (s1, r1), (s2, r2) = _steps(env, [[[0.0], [0.5]]] * 2)
    np.testing.assert_allclose(r1.reward, [1 + 2 + 3, 1 + 2 + 3 + 3 * 5.0])
    np.testing.assert_allclose(r2.reward, [4 + 5 + 6, 4 + 5 + 6 + 3 * 5.0])
    np.testing.assert_array_equal(r2.next_obs[:, 0], [6, 6])
    np.testing.assert_array_equal(s2.t, [6, 6])  # state.t counts simulator steps
    assert not r2.terminated.any() and not r2.truncated.any()


def test_episode_end_inside_the_repeat_stops_it():
    # env 0 terminates at its 2nd simulator step, env 1 runs on
    env = ActionRepeat(CountingEnv(2, episode_length=100, end_at=[2, -1]), 3)
    (s1, r1), (s2, r2) = _steps(env, [[[0.0], [0.0]]] * 2)
    np.testing.assert_allclose(r1.reward, [1 + 2, 1 + 2 + 3])
    np.testing.assert_array_equal(r1.terminated, [1, 0])
    np.testing.assert_array_equal(r1.invalid, [1, 0])
    np.testing.assert_array_equal(r1.next_obs[:, 0], [2, 3])  # the true final observation
    np.testing.assert_array_equal(s1.obs[:, 0], [0, 3])  # env 0 is reset and waits there
    np.testing.assert_array_equal(s1.t, [0, 3])
    np.testing.assert_allclose(r2.reward, [1 + 2, 4 + 5 + 6])  # a fresh episode for env 0


def test_truncation_inside_the_repeat_and_agent_episode_length():
    env = ActionRepeat(CountingEnv(1, episode_length=5), 3)
    assert env.spec.episode_length == 2  # ceil(5 / 3)
    (_, r1), (s2, r2), (_, r3) = _steps(env, [[[0.0]]] * 3)
    np.testing.assert_allclose([r1.reward[0], r2.reward[0], r3.reward[0]], [6, 4 + 5, 6])
    np.testing.assert_array_equal([r1.truncated[0], r2.truncated[0]], [0, 1])
    assert r2.terminated[0] == 0 and r2.next_obs[0, 0] == 5 and s2.obs[0, 0] == 0
    assert ActionRepeat(CountingEnv(1, episode_length=1000), 2).spec.episode_length == 500


def test_folded_batch_of_seeds():
    env = ActionRepeat(CountingEnv(2, episode_length=100, end_at=[1, -1]), 2)
    state = fold_envs(jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 3)))
    [(_, res)] = _steps(env, [jnp.zeros((6, 1))], state)
    np.testing.assert_allclose(res.reward, [1, 3] * 3)


def test_pendulum_equals_unwrapped_steps():
    inner = PendulumVecEnv(4, episode_length=200)
    env = ActionRepeat(inner, 2)
    actions = np.linspace(-1, 1, 4, dtype=np.float32)[:, None]
    (_, res), = _steps(env, [actions])
    (_, a), (s_b, b) = _steps(inner, [actions, actions])
    np.testing.assert_allclose(res.reward, a.reward + b.reward, rtol=1e-6)
    np.testing.assert_allclose(res.next_obs, b.next_obs, rtol=1e-6)


def test_make_env_applies_it_to_jax_envs_only():
    env = make_env("pendulum", 3, action_repeat=2)
    assert isinstance(env, ActionRepeat) and env.spec.episode_length == 100 and env.num_envs == 3
    assert isinstance(make_env("pendulum", 3, action_repeat=1), PendulumVecEnv)
    with pytest.raises(ValueError, match="positive int"):
        make_env("pendulum", 3, action_repeat=0)
    with pytest.raises(ValueError, match="not supported for host"):
        make_env("HalfCheetah-v5", 1, action_repeat=2)
