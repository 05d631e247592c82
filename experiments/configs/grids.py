"""Grid configs: one name that ``python -m experiments.grid`` expands into many runs.

A grid is a base config and axes; its points are the axes' product. An axis is a config key
(dotted, e.g. ``agent.tau``) or one of the aliases below, which set several keys at once. Points
that differ only in keys the train state can carry (training.hyperparams: learning rates, tau,
gamma, temperature, reward scale, ...) share one compiled program, vmapped with the seeds; points
that change anything else (widths, depths, batch size, architecture) compile separately.
CLI overrides apply to the base before the grid's own values.
"""
from __future__ import annotations

import dataclasses
import itertools

import ml_collections

from largerl_jax.envs.registry import is_host_env_name
from largerl_jax.training import hyperparams

GRIDS = {
    # Ota et al. 2021, Figure 4: SAC on Ant with N_unit x N_layer MLPs for actor and critics
    # (the original algorithm, no OFENet; the paper's setting for this study).
    "ant_sac_grid_fig4": {
        "base": "ant_sac_original",
        "axes": {"units": (128, 256, 512, 1024, 2048), "layers": (1, 2, 4, 8, 16)},
    },
    # A learning-rate sweep of SAC on Pendulum: one compiled program (benchmarks/grid_vs_runs.py).
    "pendulum_sac_lr_grid": {"base": "pendulum_sac", "axes": {"lr": (1e-4, 3e-4, 1e-3, 3e-3)}},
}

_NETS = ("actor", "critic", "value")


def _units(cfg, v) -> dict:
    out = {}
    for net in _NETS:
        if net in cfg.agent:
            out[f"agent.{net}.widths"], out[f"agent.{net}.width"] = None, v
    return out


def _layers(cfg, v) -> dict:
    return {f"agent.{net}.depth": v for net in _NETS if net in cfg.agent}


def _lr(cfg, v) -> dict:
    # Every RL optimizer of the agent (not OFENet's, which has its own axis key).
    keys = ("actor_lr", "critic_lr", "value_lr", "alpha_lr")
    return {f"agent.{k}": v for k in keys if k in cfg.agent}


# alias -> (config, value) -> {config key: value}
ALIASES = {"units": _units, "layers": _layers, "lr": _lr}


@dataclasses.dataclass(frozen=True)
class GridPoint:
    name: str  # its run folder, e.g. units128_layers1
    values: dict  # axis -> value
    settings: dict  # config key -> value
    cfg: ml_collections.ConfigDict


def grid_names() -> list[str]:
    return sorted(GRIDS)


def _settings(base, axis: str, value) -> dict:
    if axis in ALIASES:
        return ALIASES[axis](base, value)
    node = base
    *parents, leaf = axis.split(".")
    for part in parents:
        if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
            raise ValueError(f"grid axis {axis!r}: {part!r} is not a config section")
        node = node[part]
    if leaf not in node:
        raise ValueError(f"grid axis {axis!r} is not a config key (aliases: {sorted(ALIASES)})")
    return {axis: value}


def _label(axis: str, value) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{axis.rsplit('.', 1)[-1]}{text}"


def _set(cfg, key: str, value) -> None:
    *parents, leaf = key.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    try:
        node[leaf] = value
    except TypeError as e:
        raise ValueError(f"grid value {value!r} does not fit config key {key!r}: {e}") from None


def expand(axes: dict, base: ml_collections.ConfigDict, name: str) -> list[GridPoint]:
    """The grid's points (the product of ``axes``, in declaration order), each with its config
    built from ``base`` (the base config with any CLI overrides already applied)."""
    if not axes:
        raise ValueError("a grid needs at least one axis")
    for axis, values in axes.items():
        if not values:
            raise ValueError(f"grid axis {axis!r} has no values")
    points = []
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo))
        cfg = ml_collections.ConfigDict(base.to_dict())
        settings = {}
        for axis, value in values.items():
            settings.update(_settings(cfg, axis, value))
        for key, value in settings.items():
            _set(cfg, key, value)
        point = "_".join(_label(a, v) for a, v in values.items())
        cfg.name = f"{name}/{point}"
        points.append(GridPoint(point, values, settings, cfg))
    if len({p.name for p in points}) != len(points):
        raise ValueError("two grid points got the same folder name; give the axes distinct values")
    return points


def grid_points(name: str, base: ml_collections.ConfigDict) -> list[GridPoint]:
    """The points of the named grid ``name``."""
    return expand(GRIDS[name]["axes"], base, name)


def program_groups(points: list[GridPoint]) -> list[tuple[tuple[str, ...], list[GridPoint]]]:
    """Points that can share one compiled program, with the keys the program carries: those
    differing only in carried keys. Runs of host (Gymnasium, pixel) envs step outside the
    compiled programs and carry nothing: each of their points is its own program."""
    if not points:
        return []
    if is_host_env_name(points[0].cfg.env.name):
        return [((), [p]) for p in points]
    keys = {k for p in points for k in p.settings}
    varying = {k for k in keys if len({repr(p.settings.get(k)) for p in points}) > 1}
    carried = tuple(sorted(k for k in varying if hyperparams.is_carried(k)))
    groups: dict[str, list[GridPoint]] = {}
    for p in points:
        fixed = {k: v for k, v in p.settings.items() if k not in carried}
        groups.setdefault(repr(sorted(fixed.items())), []).append(p)
    return [(carried, g) for g in groups.values()]
