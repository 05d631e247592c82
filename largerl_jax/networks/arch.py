"""The declaration of a torso architecture, and the registry the torso, its widths, shrinking and
export read it from: an architecture is one module (see ``networks/archs/``) that registers one
``Arch``, and nothing else in the package names it.

Every architecture has ``depth`` maskable hidden layers (``layer_widths``), fed by a
``torso_config`` and built inside ``Torso``'s compact method. Its declaration says:

* ``forward(cfg, x, widths, masks, train)``: the features (Flax submodules named as the
  architecture documents; ``param_table``, shrink plans and export read those names);
* ``out_dim(cfg, in_dim, widths)``: the features' width, the input width of a head's output;
* ``plan(cfg, in_dim, widths, keeps, in_keep, at)``: the compaction takes of its variables when
  layer i keeps ``keeps[i]`` and the input keeps ``in_keep`` (``at`` prefixes a module path),
  with the kept output features: ``(takes, out_keep)`` (see ``compact``);
* ``export(p, cfg, variables, key, x, widths)``: the eval-mode forward as ops of an export
  program (see ``export_ops``), returning the features' name;
* ``layer_width(cfg)``: each maskable layer's width when ``cfg.widths`` is None;
* ``validate(cfg)``: architecture-specific checks, run by ``validate_torso_config``;
* ``shared_stream``: every layer writes one stream, so a unit can be removed only when it is dead
  in every layer (shrinking keeps the union of the layers' units).
"""
from __future__ import annotations

import dataclasses
from typing import Callable


def _default_layer_width(cfg) -> int:
    return cfg.width


def _no_checks(cfg) -> None:
    del cfg


@dataclasses.dataclass(frozen=True)
class Arch:
    name: str
    forward: Callable
    out_dim: Callable
    plan: Callable
    export: Callable
    layer_width: Callable = _default_layer_width
    validate: Callable = _no_checks
    shared_stream: bool = False


_REGISTRY: dict[str, Arch] = {}


def register_arch(arch: Arch) -> Arch:
    """Adds ``arch`` under its name (once: a second architecture of one name is refused)."""
    if arch.name in _REGISTRY and _REGISTRY[arch.name] is not arch:
        raise ValueError(f"torso arch {arch.name!r} is already registered")
    _REGISTRY[arch.name] = arch
    return arch


def arch_names() -> tuple[str, ...]:
    """Registered architectures, in registration order."""
    return tuple(_REGISTRY)


def get_arch(name: str) -> Arch:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"torso arch must be one of {list(_REGISTRY)}, got {name!r}") from None
