"""Heatmaps of a grid folder's best returns, as Ota et al.'s Figs. 4, 7 and 8.

A grid folder holds ``grid.json`` ({"grid", "base", "axes": {AXIS: [values]}, "points": [{"name",
"values": {AXIS: value}}]}) and one run folder per point, ``DIR/<point name>/``. A point's best
return is the max over its evaluations of the mean over seeds; a point with no evaluation yet
(an unfinished grid) is NaN and drawn as a blank cell.

Two axes: a heatmap, the first axis across, the second down. One axis: best return against it.
More than two: one heatmap over the first two, each cell the best over the other axes' values
(the title says which axes were maximised over).
"""
from __future__ import annotations

import json
import os
import re

import numpy as np

from experiments.report_runs import load_run


def read_grid(grid_dir: str) -> dict:
    with open(os.path.join(grid_dir, "grid.json")) as f:
        return json.load(f)


def point_best(point_dir: str, survivors_only: bool = False) -> tuple[float, int]:
    """The point's best mean-over-seeds return after training began (see Run.best_evaluation)
    and how many of its seeds had diverged by that evaluation."""
    try:
        run = load_run(point_dir, "", survivors_only)
    except FileNotFoundError:  # not started
        return float("nan"), 0
    i = run.best_evaluation()
    return run.best_return(), 0 if i is None else int(run.diverged[i])


def grid_values(grid_dir: str, survivors_only: bool = False) -> dict:
    """{"grid", "axes": {AXIS: values}, "best": array over all axes (NaN where unknown),
    "points": [{"name", "values", "best"}]}."""
    grid = read_grid(grid_dir)
    axes = {k: list(v) for k, v in grid["axes"].items()}
    best = np.full([len(v) for v in axes.values()], np.nan)
    points = []
    for p in grid["points"]:
        value, dead = point_best(os.path.join(grid_dir, p["name"]), survivors_only)
        index = tuple(axes[a].index(p["values"][a]) for a in axes)
        best[index] = value
        points.append({"name": p["name"], "values": p["values"], "best": None if np.isnan(value) else value,
                       "diverged": dead})
    return {"grid": grid.get("grid", os.path.basename(os.path.normpath(grid_dir))), "axes": axes,
            "best": best, "points": points}


def _reduce_to_two(best: np.ndarray) -> np.ndarray:
    if best.ndim <= 2:
        return best
    flat = best.reshape(best.shape[0], best.shape[1], -1)
    out = np.full(flat.shape[:2], np.nan)
    has = ~np.all(np.isnan(flat), axis=2)  # nanmax of all-NaN warns; those cells stay NaN
    out[has] = np.nanmax(flat[has], axis=1)
    return out


def _nan_to_none(a: np.ndarray) -> list:
    return [_nan_to_none(x) for x in a] if a.ndim > 1 else [None if np.isnan(x) else float(x) for x in a]


def file_stem(grid_name: str) -> str:
    return "heatmap_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", grid_name)


def draw_grid(grid_dir: str, png: str, label: str | None = None, survivors_only: bool = False) -> tuple[str, dict]:
    """Writes the figure to ``png`` and its numbers beside it (.json); returns (json path, values)."""
    import matplotlib  # optional dependency (the 'plots' extra), only needed to draw

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = grid_values(grid_dir, survivors_only)
    names = list(g["axes"])
    shown = _reduce_to_two(g["best"])
    title = f"{label or g['grid']}: best return (max over evaluations of the mean over seeds)"
    if len(names) > 2:
        title += f"\neach cell at the best {', '.join(names[2:])}"
    crashed = [f"{pt['name']} {pt['diverged']}" for pt in g["points"] if pt["diverged"]]
    if crashed:  # beside the means they change
        title += f"\ndiverged seeds ({'left out' if survivors_only else 'last score before the crash'}): " + ", ".join(crashed)
    fig, ax = plt.subplots(figsize=(6.5, 5) if len(names) > 1 else (6, 4))
    ticks = lambda values: [str(v) for v in values]  # noqa: E731  categorical: the values need not be numbers
    if len(names) == 1:
        x = np.arange(len(g["axes"][names[0]]))
        ax.plot(x, shown, "o-")
        ax.set_xticks(x, ticks(g["axes"][names[0]]))
        ax.set_xlabel(names[0])
        ax.set_ylabel("best return")
        ax.grid(alpha=0.3)
    else:
        table = shown.T  # first axis across, second down
        image = ax.imshow(np.ma.masked_invalid(table), origin="lower", cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label="best return")
        ax.set_xticks(np.arange(table.shape[1]), ticks(g["axes"][names[0]]))
        ax.set_yticks(np.arange(table.shape[0]), ticks(g["axes"][names[1]]))
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        finite = table[~np.isnan(table)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(table):
            text = "—" if np.isnan(v) else f"{v:.0f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black" if np.isnan(v) or v > middle else "white")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(png) or ".", exist_ok=True)
    js = os.path.splitext(png)[0] + ".json"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    with open(js, "w") as f:
        json.dump({"grid": g["grid"], "dir": grid_dir, "axes": g["axes"], "best": _nan_to_none(g["best"]),
                   "shown": _nan_to_none(shown), "maximised_over": names[2:], "points": g["points"]}, f, indent=2)
    return js, g
