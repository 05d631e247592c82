"""Env families as plug-ins: each env module declares the names it serves and how to build them,
and ``envs.registry`` (names, checks, construction) and the training core (host or on-device,
pixels or flat observations) read the declarations instead of knowing the families.

An ``EnvFamily`` says: which names are its own (``matches``) and which it lists; how to build one
(``make(name, num_envs, backend, episode_length, seed, action_repeat)``); whether it steps on the
host (outside the compiled programs), returns frames instead of flat observations, takes a
physics backend, repeats actions itself or not at all; and the optional package it needs.
Pictures of a family's envs are declared in ``render.adapters`` (rendering sits above envs).
"""
from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class EnvFamily:
    name: str
    matches: Callable[[str], bool]  # env name -> whether this family serves it
    names: Callable[[], list[str]]  # what ``available_envs`` lists
    # (name, num_envs, backend, episode_length, seed, action_repeat) -> env; called with
    # action_repeat 1 unless ``repeats_actions``
    make: Callable
    host: bool = False  # steps on the host, outside jit (a HostVecEnv)
    pixels: bool = False  # observations are frames, for agents that read frame stacks
    backends: tuple[str, ...] = ()  # physics backends a config may choose (the first is the default)
    repeats_actions: bool = False  # takes action_repeat itself (else the ActionRepeat wrapper does)
    action_repeat: bool = True  # supports action repeat at all
    dependency: tuple[str, str] | None = None  # (module the family imports, install hint)


_FAMILIES: dict[str, EnvFamily] = {}


def register_env_family(family: EnvFamily) -> EnvFamily:
    if _FAMILIES.get(family.name, family) != family:
        raise ValueError(f"env family {family.name!r} is registered twice")
    _FAMILIES[family.name] = family
    return family


def env_families() -> tuple[EnvFamily, ...]:
    return tuple(_FAMILIES.values())


def family_of(name: str) -> EnvFamily | None:
    """The family that serves env ``name`` (None: no family does)."""
    return next((f for f in _FAMILIES.values() if f.matches(name)), None)
