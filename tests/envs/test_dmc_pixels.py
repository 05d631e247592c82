import os
import subprocess
import sys

import numpy as np
import pytest

from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv


@pytest.fixture(scope="module")
def cheetah():
    env = DMCPixelVecEnv("cheetah_run", num_envs=2, seed=0)
    yield env
    env.close()


def test_frames_are_rendered_and_move(cheetah):
    assert (cheetah.spec.act_dim, cheetah.spec.obs_dim, cheetah.spec.episode_length) == (6, 84 * 84 * 3, 500)
    first = cheetah.reset(seed=0)
    assert first.shape == (2, 84, 84, 3) and first.dtype == np.uint8
    assert all(f.std() > 10 for f in first)  # not blank: the scene, not one colour
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs, info = cheetah.step(rng.uniform(-1, 1, size=(2, 6)))
    assert obs.shape == info["next_obs"].shape == (2, 84, 84, 3) and obs.dtype == np.uint8
    for k in ("reward", "terminated", "truncated", "invalid", "episode_start"):
        assert info[k].shape == (2,) and info[k].dtype == np.float32
    assert not info["episode_start"].any()
    np.testing.assert_array_equal(obs, info["next_obs"])
    assert all(np.abs(obs[i].astype(int) - first[i]).mean() > 0.5 for i in range(2))  # the cheetah moved
    assert not np.array_equal(obs[0], obs[1])  # env 1 runs its own seed


def test_action_repeat_sums_rewards_of_single_steps():
    # walker: its standing term pays from the first step on, so the sums are not all zero
    repeat2 = DMCPixelVecEnv("walker_walk", num_envs=1, seed=7, action_repeat=2)
    repeat1 = DMCPixelVecEnv("walker_walk", num_envs=1, seed=7, action_repeat=1)
    np.testing.assert_array_equal(repeat2.reset(), repeat1.reset())
    rng = np.random.default_rng(1)
    for _ in range(3):
        a = rng.uniform(-1, 1, size=(1, 6))
        obs2, out2 = repeat2.step(a)
        single = [repeat1.step(a) for _ in range(2)]
        np.testing.assert_allclose(out2["reward"], single[0][1]["reward"] + single[1][1]["reward"], rtol=1e-6)
        np.testing.assert_array_equal(obs2, single[1][0])  # one frame per agent step: the last
    assert out2["reward"][0] != 0.0
    repeat1.close()
    repeat2.close()


def test_time_limit_truncates_and_resets():
    env = DMCPixelVecEnv("cheetah_run", num_envs=1, seed=0, action_repeat=10)
    assert env.spec.episode_length == 100  # DMC's 1000 control steps
    env.reset()
    for t in range(100):
        obs, info = env.step(np.zeros((1, 6)))
        if t < 99:
            assert not info["truncated"].any() and not info["episode_start"].any()
    env.close()
    np.testing.assert_array_equal(info["truncated"], [1.0])
    np.testing.assert_array_equal(info["terminated"], [0.0])
    np.testing.assert_array_equal(info["episode_start"], [1.0])
    assert not np.array_equal(obs, info["next_obs"])  # the reset frame, not the final one


def _construct_with(backend, **env_vars):
    code = (
        "from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv, PixelRenderUnavailable\n"
        "try:\n    DMCPixelVecEnv('cheetah_run', 1).reset()\n"
        "except PixelRenderUnavailable as e:\n    print('ERROR:', e)\n"
    )
    env = dict(os.environ, MUJOCO_GL=backend, **env_vars)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("ERROR:")]
    assert run.returncode == 0 and len(lines) == 1, run.stdout + run.stderr
    return lines[0]


def test_clear_error_when_egl_has_no_driver():
    # libEGL loads, but glvnd finds no vendor library: what a machine without Mesa's EGL shows
    message = _construct_with("egl", __EGL_VENDOR_LIBRARY_FILENAMES="/nonexistent/egl_vendor.json")
    assert "MUJOCO_GL=egl" in message and "EGL display" in message
    assert "apt-get install libegl1" in message and "set MUJOCO_GL=egl" in message


def test_clear_error_when_glfw_has_no_display():
    # the context fails at the first render here, not at import
    message = _construct_with("glfw", DISPLAY="", WAYLAND_DISPLAY="")
    assert "MUJOCO_GL=glfw" in message and "set MUJOCO_GL=egl" in message
