"""One entry point that builds any supported environment by name."""
from __future__ import annotations

import importlib.util

from largerl_jax.envs.action_repeat import ActionRepeat
from largerl_jax.envs.brax_env import BRAX_BACKENDS, BRAX_TASKS, BraxVecEnv
from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv
from largerl_jax.envs.gym_env import GYM_IDS, GymVecEnv
from largerl_jax.envs.pendulum import PendulumVecEnv
from largerl_jax.envs.playground_env import DMC_TASKS, PlaygroundVecEnv

PENDULUM_EPISODE_LENGTH = 200
# DM Control from pixels, stepped on the host through dm_control: 'dmc_pixels/<domain>_<task>'
# (DrQ's task names, e.g. dmc_pixels/cheetah_run). Tasks are checked when the env is built:
# listing them imports dm_control, which opens a GL display.
PIXELS_PREFIX = "dmc_pixels/"
BRAX_EPISODE_LENGTH = 1000


def available_envs() -> dict[str, list[str]]:
    return {
        "pendulum": ["pendulum"],
        "brax": list(BRAX_TASKS),
        "brax_backends": list(BRAX_BACKENDS),
        "gymnasium": list(GYM_IDS),
        "dm_control": list(DMC_TASKS),
        "dm_control_pixels": [PIXELS_PREFIX + "<domain>_<task>, e.g. " + PIXELS_PREFIX + "cheetah_run"],
    }


def _unknown(what: str, value: str) -> ValueError:
    options = "; ".join(f"{family}: {', '.join(names)}" for family, names in available_envs().items())
    return ValueError(f"unknown {what} {value!r}. Available -- {options}")


# Optional packages an env family needs, with the command that installs them.
_DEPENDENCIES = {
    "gymnasium": ("gymnasium", 'pip install "gymnasium[mujoco]"'),
    "brax": ("brax", "pip install brax mujoco-mjx"),
    "dm_control": ("mujoco_playground", 'pip install "largerl-jax[dmc]" (or: pip install playground)'),
    "dm_control_pixels": ("dm_control", 'pip install "largerl-jax[pixels]"'),
}


def is_pixel_env_name(name: str) -> bool:
    return name.startswith(PIXELS_PREFIX) and len(name) > len(PIXELS_PREFIX)


def missing_dependency(name: str) -> str | None:
    """None if env ``name``'s optional packages import, else the error with its install hint
    (checked without importing them, so it is cheap enough for config validation)."""
    family = ("gymnasium" if ("-v" in name and name in GYM_IDS) else "brax" if name in BRAX_TASKS
              else "dm_control" if name in DMC_TASKS else "dm_control_pixels" if is_pixel_env_name(name) else None)
    if family is None:
        return None
    module, hint = _DEPENDENCIES[family]
    if importlib.util.find_spec(module) is None:
        return f"env {name!r} needs the optional package {module!r}, which is not installed: {hint}"
    return None


def check_env(name: str, backend: str | None = None) -> None:
    """The checks ``make_env`` makes before building anything: raises ValueError for an unknown
    env or backend, or a backend on a task that has none; ImportError for a missing package."""
    if backend is not None and backend not in BRAX_BACKENDS:
        raise _unknown("backend", backend)
    if name == "pendulum" or ("-v" in name and name in GYM_IDS) or name in DMC_TASKS or is_pixel_env_name(name):
        _no_backend(name, backend)
    elif name not in BRAX_TASKS:
        raise _unknown("env", name)
    problem = missing_dependency(name)
    if problem:
        raise ImportError(problem)


def make_env(
    name: str,
    num_envs: int,
    *,
    backend: str | None = None,
    episode_length: int | None = None,
    seed: int = 0,
    action_repeat: int = 1,
):
    """Returns a ``JaxVecEnv`` (pendulum, Brax, DM Control 'dmc/...') or a ``HostVecEnv``
    (Gymnasium ids with '-v'; DM Control from pixels 'dmc_pixels/...', which repeats actions
    itself).

    ``seed`` only matters for host envs; JAX envs take their randomness from ``reset(key)``.
    ``episode_length`` is in simulator steps; with ``action_repeat`` R > 1 (JAX envs only) the
    returned env's spec counts agent steps, ceil(episode_length / R).
    """
    check_env(name, backend)
    if is_pixel_env_name(name):
        return DMCPixelVecEnv(name[len(PIXELS_PREFIX):], num_envs, seed=seed, action_repeat=action_repeat,
                              episode_length=episode_length)
    if action_repeat != 1 and "-v" in name and name in GYM_IDS:
        raise ValueError(f"action_repeat={action_repeat!r} is not supported for host (Gymnasium) env "
                         f"{name!r} yet; use action_repeat=1 or a JAX env")
    env = _make_unrepeated(name, num_envs, backend, episode_length, seed)
    return env if action_repeat == 1 else ActionRepeat(env, action_repeat)


def _make_unrepeated(name, num_envs, backend, episode_length, seed):
    if name == "pendulum":
        _no_backend(name, backend)
        return PendulumVecEnv(num_envs, episode_length or PENDULUM_EPISODE_LENGTH)
    if name in BRAX_TASKS:
        return BraxVecEnv(name, num_envs, backend=backend or "mjx",
                          episode_length=episode_length or BRAX_EPISODE_LENGTH)
    if name in DMC_TASKS:
        return PlaygroundVecEnv(name, num_envs, episode_length=episode_length)
    if "-v" in name and name in GYM_IDS:
        _no_backend(name, backend)
        return GymVecEnv(name, num_envs, seed=seed, episode_length=episode_length)
    raise _unknown("env", name)


def _no_backend(name: str, backend: str | None) -> None:
    # A backend on a non-Brax task is almost surely a config mistake, so refuse it loudly.
    if backend is not None:
        raise ValueError(f"env {name!r} has no physics backend choice (got backend={backend!r}); "
                         f"backends apply to brax tasks: {', '.join(BRAX_TASKS)}")


def is_host_env_name(name: str) -> bool:
    """Whether env ``name`` steps on the host (Gymnasium, dm_control pixels), not inside jit."""
    return name in GYM_IDS or is_pixel_env_name(name)


def is_host_env(env) -> bool:
    return isinstance(env, (GymVecEnv, DMCPixelVecEnv))
