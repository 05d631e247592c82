"""The config of a finished (or interrupted) run folder, for the tools that read a run after the
fact (experiments.video, experiments.export): rebuilt from the named config with every value
saved in config.json written over it, so FieldReferences and types stay the code's."""
from __future__ import annotations

import json
import os

import ml_collections

from experiments.configs import get_config


def _overwrite(cfg: ml_collections.ConfigDict, saved: dict, prefix: str = "") -> None:
    for key, value in saved.items():
        path = prefix + key
        if key not in cfg:
            raise ValueError(f"config.json has key {path!r}, which this version's config {cfg.get('name', '')!r} lacks")
        if isinstance(cfg[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _overwrite(cfg[key], value, path + ".")
            continue
        old = cfg[key]
        if isinstance(value, list):  # JSON has no tuples
            value = tuple(value)
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        cfg[key] = value


def saved_config(workdir: str) -> tuple[ml_collections.ConfigDict, int]:
    """The run config of ``workdir`` and its number of seeds."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no run: no config.json (pass the --workdir of an experiments.run run)")
    with open(path) as f:
        saved = json.load(f)
    num_seeds = int(saved.get("_num_seeds", 1))
    values = {k: v for k, v in saved.items() if not k.startswith("_")}
    name = values.get("name", "")
    # a grid point is named GRID/POINT; its config is the grid's base with the point's values
    cfg = get_config(name.split("/")[0])
    _overwrite(cfg, values)
    return cfg, num_seeds
