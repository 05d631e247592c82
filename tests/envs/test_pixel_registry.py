"""DM Control from pixels in the env registry: 'dmc_pixels/<task>'."""
import importlib.util

import pytest

from largerl_jax.envs import check_env, is_host_env, make_env
from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv
from largerl_jax.envs.registry import missing_dependency


def test_make_pixel_env_with_repeat_and_time_limit():
    env = make_env("dmc_pixels/cartpole_swingup", 2, seed=3, episode_length=10, action_repeat=2)
    try:
        assert isinstance(env, DMCPixelVecEnv) and is_host_env(env)
        assert (env.spec.episode_length, env.spec.frame_shape, env.action_repeat) == (5, (84, 84, 3), 2)
        env.reset()
        for t in range(5):
            _, info = env.step(env.num_envs * [[0.0]])
        assert info["truncated"].all() and info["episode_start"].all()
    finally:
        env.close()


def test_missing_dm_control_gives_the_install_hint(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dm_control" else real(name, *a))
    assert 'pip install "largerl-jax[pixels]"' in missing_dependency("dmc_pixels/cheetah_run")
    with pytest.raises(ImportError, match="pixels"):
        check_env("dmc_pixels/cheetah_run")
    with pytest.raises(ValueError, match="backend"):
        check_env("dmc_pixels/cheetah_run", backend="mjx")
