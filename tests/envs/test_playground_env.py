"""DM Control tasks through MuJoCo Playground (MJX). Compiling a step takes tens of seconds on
CPU, so every task is only built (no compile) and one cheap task, cartpole, is stepped."""
import importlib.util

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

pytest.importorskip("mujoco_playground")

from largerl_jax.envs import make_env  # noqa: E402
from largerl_jax.envs import playground_env  # noqa: E402
from largerl_jax.envs.playground_env import DMC_TASKS, PlaygroundVecEnv, _flat_obs  # noqa: E402
from largerl_jax.envs.playground_fixes import ensure_reacher_builds  # noqa: E402
from largerl_jax.envs.registry import available_envs, check_env, missing_dependency  # noqa: E402

# (obs_dim, act_dim) of dm_control's state observations
DIMS = {
    "BallInCup": (8, 2), "CartpoleBalance": (5, 1), "CartpoleBalanceSparse": (5, 1),
    "CartpoleSwingup": (5, 1), "CartpoleSwingupSparse": (5, 1), "CheetahRun": (17, 6),
    "FingerSpin": (9, 2), "HopperHop": (15, 4), "HopperStand": (15, 4), "PendulumSwingup": (3, 1),
    "ReacherEasy": (6, 2), "ReacherHard": (6, 2), "WalkerRun": (24, 6), "WalkerStand": (24, 6),
    "WalkerWalk": (24, 6), "HumanoidStand": (67, 21), "HumanoidWalk": (67, 21), "HumanoidRun": (67, 21),
}
N, HORIZON, T = 4, 5, 12


@pytest.mark.slow
def test_every_task_builds_with_mjx():
    assert sorted(DMC_TASKS) == sorted("dmc/" + name for name in DIMS)
    for name in DMC_TASKS:
        env = PlaygroundVecEnv(name, 2)
        task = name.removeprefix("dmc/")
        assert (env.spec.obs_dim, env.spec.act_dim) == DIMS[task], name
        assert env.spec.episode_length == 1000 and env.spec.name == name
        assert env._env.mjx_model.impl.value == "jax", name


@pytest.fixture(scope="module")
def cartpole():
    env = PlaygroundVecEnv("CartpoleSwingup", N, episode_length=HORIZON)

    @jax.jit
    def rollout(state, key):
        def body(s, k):
            a = jax.random.uniform(k, (N, 1), minval=-1.0, maxval=1.0)
            s, out = env.step(s, a)
            return s, (out, s.obs, s.t)

        return jax.lax.scan(body, state, jax.random.split(key, T))

    first = jax.jit(env.reset)(jax.random.PRNGKey(0))
    _, traj = rollout(first, jax.random.PRNGKey(1))
    return env, rollout, first, jax.tree_util.tree_map(np.asarray, traj)


def test_cartpole_steps_in_a_jitted_batch(cartpole):
    env, _, first, (out, obs, t) = cartpole
    assert first.obs.shape == (N, 5) and first.obs.dtype == jnp.float32
    assert out.next_obs.shape == (T, N, 5) and out.next_obs.dtype == np.float32
    for x in (out.reward, out.terminated, out.truncated, out.invalid):
        assert x.shape == (T, N) and x.dtype == np.float32
    assert np.isfinite(out.next_obs).all() and np.isfinite(obs).all() and np.isfinite(out.reward).all()
    assert ((out.reward >= 0) & (out.reward <= 1)).all()  # DMC rewards lie in [0, 1]
    assert not out.terminated.any() and not out.invalid.any()


def test_time_limit_truncates_and_resets(cartpole):
    _, _, first, (out, obs, t) = cartpole
    trunc = out.truncated.astype(bool)
    np.testing.assert_array_equal(trunc, np.tile((np.arange(T) % HORIZON == HORIZON - 1)[:, None], (1, N)))
    np.testing.assert_array_equal(t[trunc], 0)
    # the reset observation differs from the kept final one; untouched envs carry on
    assert not np.allclose(obs[trunc], out.next_obs[trunc])
    np.testing.assert_array_equal(obs[~trunc], out.next_obs[~trunc])


def test_blown_up_physics_is_invalid_and_reset(cartpole):
    env, rollout, first, _ = cartpole
    data = first.inner.data
    poisoned = first.replace(inner=first.inner.replace(data=data.replace(qvel=data.qvel.at[0].set(jnp.nan))))
    _, (out, obs, t) = rollout(poisoned, jax.random.PRNGKey(2))  # same shapes: no recompile
    assert float(out.invalid[0, 0]) == 1.0 and float(out.terminated[0, 0]) == 1.0
    assert float(out.truncated[0, 0]) == 0.0 and float(out.reward[0, 0]) == 0.0
    np.testing.assert_array_equal(np.asarray(out.next_obs[0, 0]), np.zeros(5))
    assert np.isfinite(np.asarray(obs)).all() and int(t[0, 0]) == 0
    assert not np.asarray(out.invalid[0, 1:]).any()


def test_dict_observations_flatten_in_key_order():
    obs = {"b": jnp.ones((2, 3)), "a": jnp.zeros((2, 1, 2))}
    np.testing.assert_array_equal(_flat_obs(obs), [[0, 0, 1, 1, 1]] * 2)


def test_registry_knows_the_tasks(monkeypatch):
    assert available_envs()["dm_control"] == list(DMC_TASKS)
    env = make_env("dmc/PendulumSwingup", 3, episode_length=20)
    assert isinstance(env, PlaygroundVecEnv) and env.spec.episode_length == 20
    repeated = make_env("dmc/PendulumSwingup", 3, action_repeat=2)
    assert repeated.spec.episode_length == 500 and isinstance(repeated.env, PlaygroundVecEnv)
    check_env("dmc/CheetahRun")
    with pytest.raises(ValueError, match="backend"):
        check_env("dmc/CheetahRun", "mjx")
    with pytest.raises(ValueError, match="dmc/CheetahRun"):
        make_env("dmc/CheetahRunFast", 1)
    assert missing_dependency("dmc/CheetahRun") is None
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda m, *a: None if m == "mujoco_playground" else real_find_spec(m, *a))
    assert "pip install playground" in missing_dependency("dmc/CheetahRun")


@pytest.mark.parametrize("name", ["ReacherEasy", "ReacherHard"])
def test_reacher_builds(name):
    env = PlaygroundVecEnv(name, 2)
    assert (env.spec.obs_dim, env.spec.act_dim) == (6, 2)


def test_reacher_shim_where_playground_misreads_the_version(monkeypatch):
    """Playground takes MuJoCo 3.17 for older than 3.3 (string comparison) and calls the
    removed MjSpec.find_body; the shim makes both Reacher tasks build there."""
    if hasattr(mujoco.MjSpec, "find_body"):
        pytest.skip("this MuJoCo still has MjSpec.find_body")
    monkeypatch.setattr(mujoco, "__version__", "3.17.0")
    monkeypatch.setattr(playground_env, "ensure_reacher_builds", lambda: False)
    with pytest.raises(AttributeError, match="find_body"):
        PlaygroundVecEnv("ReacherEasy", 1)
    monkeypatch.undo()
    monkeypatch.setattr(mujoco, "__version__", "3.17.0")
    try:
        assert ensure_reacher_builds() and not ensure_reacher_builds()  # applied once
        for name, size in (("ReacherEasy", 0.05), ("ReacherHard", 0.015)):
            model = PlaygroundVecEnv(name, 1)._env.mj_model
            assert model.geom("target").size[0] == pytest.approx(size)  # the body was found
    finally:
        del mujoco.MjSpec.find_body
    monkeypatch.setattr(mujoco, "__version__", "4.0.0")
    assert not ensure_reacher_builds() and not hasattr(mujoco.MjSpec, "find_body")
