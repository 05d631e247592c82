"""Named experiment configs: ``get_config(NAME)`` returns a fresh ml_collections ConfigDict."""
from __future__ import annotations

import difflib

import ml_collections

from experiments.configs import families


def list_configs() -> list[str]:
    return families.config_names()


def get_config(name: str) -> ml_collections.ConfigDict:
    names = list_configs()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown config {name!r}.{hint} Available configs: {', '.join(names)}")
    return families.experiment_config(name)


__all__ = ["get_config", "list_configs"]
