import pytest

from largerl_jax.envs import (
    BraxVecEnv,
    GymVecEnv,
    PendulumVecEnv,
    available_envs,
    is_host_env,
    make_env,
)


def test_available_envs_families():
    envs = available_envs()
    assert envs["pendulum"] == ["pendulum"]
    assert {"ant", "halfcheetah", "hopper", "walker2d", "humanoid", "inverted_pendulum"} <= set(envs["brax"])
    assert {"Ant-v4", "Humanoid-v5"} <= set(envs["gymnasium"])
    assert envs["brax_backends"][0] == "mjx"


def test_make_env_families():
    env = make_env("pendulum", 3, episode_length=50)
    assert isinstance(env, PendulumVecEnv) and env.spec.episode_length == 50 and not is_host_env(env)
    env = make_env("inverted_pendulum", 2)
    assert isinstance(env, BraxVecEnv) and env.backend == "mjx" and env.spec.episode_length == 1000
    assert not is_host_env(env)
    env = make_env("HalfCheetah-v5", 2, seed=3, episode_length=7)
    assert isinstance(env, GymVecEnv) and is_host_env(env) and env.spec.episode_length == 7
    env.close()


def test_unknown_name_lists_options():
    with pytest.raises(ValueError) as err:
        make_env("cartpole", 1)
    msg = str(err.value)
    for name in ("cartpole", "pendulum", "halfcheetah", "Ant-v4", "mjx"):
        assert name in msg
    with pytest.raises(ValueError, match="Walker2d-v4"):
        make_env("Walker2d-v9", 1)


def test_unknown_backend_lists_options():
    with pytest.raises(ValueError) as err:
        make_env("ant", 1, backend="physx")
    for name in ("physx", "mjx", "generalized", "positional", "spring"):
        assert name in str(err.value)


def test_backend_on_non_brax_env_rejected():
    with pytest.raises(ValueError, match="backend"):
        make_env("pendulum", 1, backend="mjx")


def test_third_party_start_up_noise_is_filtered_and_the_rest_kept(capsys):
    import warnings

    from largerl_jax.envs.quiet import third_party_noise_filtered

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with third_party_noise_filtered():
            print("Failed to import warp: No module named 'warp'")
            print("Failed to import mujoco_warp: No module named 'warp'")
            print("a real message")
            warnings.warn("Brax System, piplines and environments are not actively being maintained. See MJX")
            warnings.warn("a real warning")
    assert capsys.readouterr().out == "a real message\n"
    assert [str(w.message) for w in caught] == ["a real warning"]


def test_an_env_family_declared_in_one_file_is_built_listed_and_validated():
    """A family declared here (a renamed Pendulum, on-device) is listed, checked, built and
    accepted by the run config's validation without any other file knowing it."""
    from largerl_jax.envs.family import EnvFamily, family_of, register_env_family
    from largerl_jax.envs.pendulum import PendulumVecEnv
    from largerl_jax.training import run_config, validate

    register_env_family(EnvFamily(
        name="toy_family", matches=lambda name: name.startswith("toy/"), names=lambda: ["toy/pendulum"],
        make=lambda name, n, backend, length, seed, repeat: PendulumVecEnv(n, length or 50)))
    assert available_envs()["toy_family"] == ["toy/pendulum"]
    assert family_of("toy/pendulum").name == "toy_family"
    env = make_env("toy/pendulum", 3, action_repeat=2)  # repeated by the generic wrapper
    assert env.num_envs == 3 and env.spec.episode_length == 25 and not is_host_env(env)
    with pytest.raises(ValueError, match="no physics backend choice"):
        make_env("toy/pendulum", 3, backend="mjx")
    cfg = run_config(agent="sac", env="toy/pendulum")
    cfg.env.episode_length = 50
    validate(cfg)
