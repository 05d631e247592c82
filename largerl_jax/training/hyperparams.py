"""Scalar hyperparameters carried in the train state, so that points of a grid search that differ
only in them share one compiled program (vmapped with the seeds, like BRO's seed vmapping).

A carried key's value lives in ``TrainState.hparams`` (a nested dict mirroring the config, one
float32 per seed-batch element). Inside the compiled programs the agent is rebuilt from a copy
of the config whose carried fields hold those traced values instead of Python floats, so every
agent reads them exactly where it reads the config today: no agent needs to know about grids.
Keys that change shapes, control flow or the run's schedule (widths, depths, batch size, update
periods, the pruning schedule) cannot be carried; a grid compiles such points separately.
"""
from __future__ import annotations

import ml_collections
import numpy as np

from largerl_jax.agents import carried_keys

# Config keys (dotted, from the run config's root) that may be carried: what the agent families
# and feature kinds declare (agents.family; tests/training/test_hyperparams.py traces every one
# of them through init, act and update of every family that has it).
CARRIED = carried_keys()

# Checkpoint metadata: the carried keys, so that a grid point's folder restores on its own.
META_KEY = "carried_hparams"


def is_carried(key: str) -> bool:
    return key in CARRIED


def _get(cfg, key: str):
    node = cfg
    for part in key.split("."):
        if part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def nested(values: dict[str, object]) -> dict:
    """{'agent.gamma': x} -> {'agent': {'gamma': x}} (the pytree layout of the train state)."""
    out: dict = {}
    for key, value in values.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def flat(tree: dict, prefix: str = "") -> dict[str, object]:
    """The inverse of ``nested``."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_keys(cfg, keys) -> None:
    for key in keys:
        if not is_carried(key):
            raise ValueError(f"{key!r} cannot be carried in the train state; carried keys: {sorted(CARRIED)}")
        try:
            value = _get(cfg, key)
        except KeyError:
            raise ValueError(f"{key!r} is not a field of config {cfg.name!r}") from None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{key!r} is {value!r} in config {cfg.name!r}: only numbers can be carried")


def stacked(point_cfgs: list, keys: list[str], num_seeds: int) -> dict | None:
    """The seed-batch ``hparams`` of points laid out point-major (point p's seeds at rows
    p*S ... p*S+S-1): a nested dict of float32 [P*S] arrays, or None when nothing is carried."""
    if not keys:
        return None
    # host arrays: the runner places them with the rows of the batch
    return nested({k: np.repeat(np.asarray([float(_get(c, k)) for c in point_cfgs], np.float32), num_seeds) for k in keys})


def substitute(cfg, hparams: dict | None):
    """A copy of the run config whose carried fields hold ``hparams``' (traced) values; ``cfg``
    itself when there are none. The copy is not type-checked: its fields may hold tracers."""
    if not hparams:
        return cfg
    out = ml_collections.ConfigDict(cfg.to_dict(), type_safe=False)
    for key, value in flat(hparams).items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node[part]
        node[leaf] = value
    return out
