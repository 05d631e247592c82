"""Reopening a run folder: its run config from ``config.json`` alone, with no experiment module,
for every tool that reads a run after the fact (export, video, landscapes, inspection).

The config is rebuilt as the library builds every run config (``run_config`` of the saved agent
family and env, so FieldReferences and types stay the code's) with every value saved in
``config.json`` written over it. Any experiment config's keys are a subset of that base (a test
checks every registered config), so nothing saved is left out."""
from __future__ import annotations

import json
import os

import ml_collections

from largerl_jax.training.config import run_config


def _overwrite(cfg: ml_collections.ConfigDict, saved: dict, prefix: str = "") -> None:
    for key, value in saved.items():
        path = prefix + key
        if key not in cfg:
            raise ValueError(f"config.json has key {path!r}, which this version's run config lacks")
        if isinstance(cfg[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _overwrite(cfg[key], value, path + ".")
            continue
        old = cfg[key]
        if isinstance(value, list):  # JSON has no tuples
            value = tuple(value)
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        cfg[key] = value


def config_from_saved(saved: dict) -> ml_collections.ConfigDict:
    """The run config that ``config.json``'s values describe (keys starting with _ are ignored)."""
    values = {k: v for k, v in saved.items() if not k.startswith("_")}
    try:
        agent, env = values["agent"]["name"], values["env"]["name"]
    except (KeyError, TypeError):
        raise ValueError("config.json names no agent.name and env.name: not a run config") from None
    cfg = run_config(agent=agent, env=env)
    _overwrite(cfg, values)
    return cfg


def saved_config(workdir: str) -> tuple[ml_collections.ConfigDict, int]:
    """The run config of ``workdir`` and its number of seeds."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no run: no config.json (pass the --workdir of an experiments.run run)")
    with open(path) as f:
        saved = json.load(f)
    return config_from_saved(saved), int(saved.get("_num_seeds", 1))
