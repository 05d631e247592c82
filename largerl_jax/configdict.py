"""Validated ConfigDicts from a table of defaults: the pattern shared by the torso and OFENet
configs. Builders return a locked dict (typos in later overrides fail loudly); modules hold a
frozen copy so that it is hashable (a static jit argument) and cannot change under them."""

from typing import Any, Callable, Mapping

import ml_collections


def locked_config(kind: str, defaults: Mapping[str, Any], overrides: Mapping[str, Any],
                  validate: Callable[[Any], None]) -> ml_collections.ConfigDict:
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {kind} config fields {unknown}; allowed: {sorted(defaults)}")
    cfg = ml_collections.ConfigDict({**defaults, **overrides})
    validate(cfg)
    cfg.lock()
    return cfg


def frozen_config(cfg, validate: Callable[[Any], None]) -> ml_collections.FrozenConfigDict:
    if not isinstance(cfg, ml_collections.FrozenConfigDict):
        cfg = ml_collections.FrozenConfigDict(cfg)
    validate(cfg)
    return cfg


def is_int(value) -> bool:
    """True for a Python int that is not a bool (True would pass isinstance(value, int))."""
    return isinstance(value, int) and not isinstance(value, bool)
