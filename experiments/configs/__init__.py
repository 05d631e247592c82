"""Named experiment configs: ``get_config(NAME)`` returns a fresh ml_collections ConfigDict."""
from __future__ import annotations

import difflib

import ml_collections

from experiments.configs import dmc, families, grids, leaderboard, parallel_leaderboard, scaling, xinet
from experiments.configs.grids import grid_names, grid_points


def list_configs() -> list[str]:
    return sorted(families.config_names() + grid_names() + dmc.dmc_config_names() + xinet.xinet_config_names()
                  + scaling.scaling_config_names() + leaderboard.leaderboard_config_names()
                  + parallel_leaderboard.parallel_leaderboard_config_names())


def get_config(name: str) -> ml_collections.ConfigDict:
    """A fresh config; for a grid name, the grid's base config (expand it with grid_points)."""
    names = list_configs()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown config {name!r}.{hint} ({len(names)} configs: python -m experiments.run --list-configs)"
        )
    parsed = dmc.parse_dmc_name(name)
    if parsed is not None:
        cfg = dmc.dmc_config(*parsed)
        cfg.name = name
        return cfg
    cfg = scaling.scaling_config(name)
    if cfg is not None:
        return cfg
    parsed = leaderboard.parse_leaderboard_name(name)
    if parsed is not None:
        return leaderboard.leaderboard_config(*parsed)
    parsed = parallel_leaderboard.parse_parallel_leaderboard_name(name)
    if parsed is not None:
        return parallel_leaderboard.parallel_leaderboard_config(*parsed)
    parsed = xinet.parse_xinet_name(name)
    if parsed is not None:
        cfg = xinet.xinet_config(*parsed)
        cfg.name = name
        return cfg
    if name in grids.GRIDS:
        cfg = get_config(grids.GRIDS[name]["base"])
        cfg.name = name  # points are renamed NAME/POINT by grid_points
        return cfg
    return families.experiment_config(name)


def is_grid(name: str) -> bool:
    return name in grids.GRIDS


__all__ = ["get_config", "grid_names", "grid_points", "is_grid", "list_configs"]
