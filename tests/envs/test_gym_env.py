import numpy as np
import pytest

from largerl_jax.envs import GymVecEnv


@pytest.fixture
def ant():
    env = GymVecEnv("Ant-v4", num_envs=2, seed=0, episode_length=5)
    yield env
    env.close()


def test_ant_v4_has_contact_forces(ant):
    assert (ant.spec.obs_dim, ant.spec.act_dim, ant.spec.episode_length) == (111, 8, 5)
    obs = ant.reset(seed=0)
    assert obs.shape == (2, 111) and obs.dtype == np.float32


def test_truncation_keeps_final_obs(ant):
    ant.reset(seed=0)
    rng = np.random.default_rng(0)
    for t in range(1, 6):
        new_obs, out = ant.step(rng.uniform(-1, 1, size=(2, 8)))
        for k in ("next_obs", "reward", "terminated", "truncated"):
            assert out[k].dtype == np.float32 and out[k].shape[0] == 2
        # seeded rollout: a 5-step Ant episode cannot fall over, so truncation is always exercised
        assert not out["terminated"].any(), "ant terminated before the time limit"
        if t < 5:
            np.testing.assert_array_equal(out["truncated"], [0.0, 0.0])
            np.testing.assert_array_equal(new_obs, out["next_obs"])
    np.testing.assert_array_equal(out["truncated"], [1.0, 1.0])
    np.testing.assert_array_equal(out["terminated"], [0.0, 0.0])
    # After reset the torso is back near its initial height; the final obs came from the rollout.
    assert not np.allclose(new_obs, out["next_obs"])
    np.testing.assert_allclose(new_obs[:, 0], 0.75, atol=0.11)


def test_hopper_termination_and_action_rescale():
    env = GymVecEnv("Hopper-v5", num_envs=2, seed=1)
    assert env.spec.episode_length == 1000 and env.spec.obs_dim == 11
    env.reset(seed=1)
    for _ in range(300):
        new_obs, out = env.step(np.ones((2, 3)) * np.array([1.0, -1.0, 1.0]))
        if out["terminated"].any():
            break
    env.close()
    assert out["terminated"].any()
    i = int(np.flatnonzero(out["terminated"])[0])
    assert out["truncated"][i] == 0.0
    assert not np.allclose(new_obs[i], out["next_obs"][i])


def test_humanoid_action_bounds():
    env = GymVecEnv("Humanoid-v4", num_envs=1, seed=0)
    np.testing.assert_allclose(env._act_low, -0.4, rtol=1e-6)
    np.testing.assert_allclose(env._act_high, 0.4, rtol=1e-6)
    env.close()


def _blow_up(env, i, value=1e10):
    """Gives sub-env i velocities MuJoCo rejects on its next step."""
    sim = env._vec.envs[i].unwrapped
    sim.set_state(sim.data.qpos.copy(), np.full_like(sim.data.qvel, value))


def test_blow_up_is_counted_terminated_and_reset():
    env, twin = (GymVecEnv("Hopper-v4", num_envs=2, seed=3) for _ in range(2))
    for e in (env, twin):
        e.reset(seed=3)
        _blow_up(e, 1)
    obs, out = env.step(np.zeros((2, 3)))
    np.testing.assert_array_equal(out["invalid"], [0.0, 1.0])
    np.testing.assert_array_equal(out["terminated"], [0.0, 1.0])
    assert out["truncated"][1] == 0.0 and out["reward"][1] == 0.0
    assert out["invalid"].dtype == np.float32
    assert np.isfinite(obs).all() and np.isfinite(out["next_obs"]).all()
    # a fresh episode from a seed derived from the vec env's: reproducible, and not the state
    # MuJoCo reset to by itself (the final obs)
    np.testing.assert_array_equal(obs, twin.step(np.zeros((2, 3)))[0])
    assert not np.allclose(obs[1], out["next_obs"][1], atol=1e-4)

    invalid = [env.step(np.zeros((2, 3)))[1]["invalid"] for _ in range(5)]
    assert np.sum(invalid) == 0.0, "one blow-up counted more than once"
    # MuJoCo keeps its warning count at 1 through a second blow-up; it must still count,
    # and so must a NaN velocity (a different warning)
    for value in (1e10, np.nan):
        _blow_up(env, 1, value)
        out = env.step(np.zeros((2, 3)))[1]
        np.testing.assert_array_equal(out["invalid"], [0.0, 1.0])
    env.close()
    twin.close()
