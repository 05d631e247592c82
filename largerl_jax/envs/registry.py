"""One entry point that builds any supported environment by name, from the env families'
declarations (``envs.family``; each env module declares its own)."""
from __future__ import annotations

import importlib.util

from largerl_jax.envs.action_repeat import ActionRepeat
from largerl_jax.envs.family import env_families, family_of
# Each env module registers its family when imported; this order is available_envs()' order.
from largerl_jax.envs import pendulum, brax_env, gym_env, playground_env, dmc_pixels  # noqa: F401,E402,I001


def available_envs() -> dict[str, list[str]]:
    out = {}
    for family in env_families():
        out[family.name] = family.names()
        if family.backends:
            out[f"{family.name}_backends"] = list(family.backends)
    return out


def _unknown(what: str, value: str) -> ValueError:
    options = "; ".join(f"{family}: {', '.join(names)}" for family, names in available_envs().items())
    return ValueError(f"unknown {what} {value!r}. Available -- {options}")


def is_pixel_env_name(name: str) -> bool:
    """Whether env ``name`` returns frames (for agents that read frame stacks)."""
    family = family_of(name)
    return family is not None and family.pixels


def is_host_env_name(name: str) -> bool:
    """Whether env ``name`` steps on the host (Gymnasium, dm_control pixels), not inside jit."""
    family = family_of(name)
    return family is not None and family.host


def supports_action_repeat(name: str) -> bool:
    family = family_of(name)
    return family is None or family.action_repeat


def missing_dependency(name: str) -> str | None:
    """None if env ``name``'s optional packages import, else the error with its install hint
    (checked without importing them, so it is cheap enough for config validation)."""
    family = family_of(name)
    if family is None or family.dependency is None:
        return None
    module, hint = family.dependency
    if importlib.util.find_spec(module) is None:
        return f"env {name!r} needs the optional package {module!r}, which is not installed: {hint}"
    return None


def _all_backends() -> tuple[str, ...]:
    return tuple(b for f in env_families() for b in f.backends)


def check_env(name: str, backend: str | None = None) -> None:
    """The checks ``make_env`` makes before building anything: raises ValueError for an unknown
    env or backend, or a backend on a task that has none; ImportError for a missing package."""
    if backend is not None and backend not in _all_backends():
        raise _unknown("backend", backend)
    family = family_of(name)
    if family is None:
        raise _unknown("env", name)
    if backend is not None and backend not in family.backends:
        # A backend on a task without that choice is almost surely a config mistake: refuse it.
        takes = [n for f in env_families() if backend in f.backends for n in f.names()]
        raise ValueError(f"env {name!r} has no physics backend choice (got backend={backend!r}); "
                         f"backends apply to brax tasks: {', '.join(takes)}")
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
    family = family_of(name)
    if family.repeats_actions:
        return family.make(name, num_envs, backend, episode_length, seed, action_repeat)
    if action_repeat != 1 and not family.action_repeat:
        raise ValueError(f"action_repeat={action_repeat!r} is not supported for host env {name!r} "
                         f"({family.name}) yet; use action_repeat=1 or a JAX env")
    env = family.make(name, num_envs, backend, episode_length, seed, 1)
    return env if action_repeat == 1 else ActionRepeat(env, action_repeat)


def is_host_env(env) -> bool:
    """Whether ``env`` is a HostVecEnv (it steps on the host)."""
    return getattr(env, "steps_on_host", False)
