"""Grid configs: one name that the runner expands into several runs.

A grid varies network shapes, which cannot share one compiled program, so its points run one
after another (each with all its seeds vmapped) into DIR/POINT. CLI overrides apply to every
point before the grid's own values.
"""
from __future__ import annotations

import itertools

import ml_collections

# Ota et al. 2021, Figure 4: SAC on Ant with N_unit x N_layer MLPs for actor and critics
# (the original algorithm, no OFENet; the paper's setting for this study).
GRIDS = {
    "ant_sac_grid_fig4": {
        "base": "ant_sac_original",
        "axes": {"units": (128, 256, 512, 1024, 2048), "layers": (1, 2, 4, 8, 16)},
    },
}


def _apply_point(cfg: ml_collections.ConfigDict, units: int, layers: int) -> None:
    for net in ("actor", "critic", "value"):
        if net in cfg.agent:
            cfg.agent[net].widths, cfg.agent[net].width = None, units
            cfg.agent[net].depth = layers


def grid_names() -> list[str]:
    return sorted(GRIDS)


def grid_points(name: str, base: ml_collections.ConfigDict) -> list[tuple[str, ml_collections.ConfigDict]]:
    """(point name, config) for every point of grid ``name``, built from ``base`` (the grid's
    base config with any CLI overrides already applied)."""
    axes = GRIDS[name]["axes"]
    points = []
    for units, layers in itertools.product(axes["units"], axes["layers"]):
        cfg = ml_collections.ConfigDict(base.to_dict())
        point = f"units{units}_layers{layers}"
        _apply_point(cfg, units, layers)
        cfg.name = f"{name}/{point}"
        points.append((point, cfg))
    return points
