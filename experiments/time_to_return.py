"""Time to reach a return: for each run folder and each threshold R, the first evaluation at which
the mean return over seeds reaches R (its env steps, gradient steps and wall time), and per seed
when that seed first reached R, with how many seeds did. The parallel regime's claim (FastTD3,
FastSAC) is about this, wall-clock time to a return, more than returns at a budget of env steps.

Wall time is the records' ``wall_time_s``: since the run started, compilation and evaluations
included, every seed of the folder in one program (so a folder's seeds share one clock). A
crashed seed counts with its last score before the crash (experiments.curves), so it never
reaches a threshold it had not reached.
"""
from __future__ import annotations

import math

import numpy as np

from experiments.curves import load_curve


def first_reach(x: list, values: np.ndarray, threshold: float) -> float | None:
    """The first x whose value is >= threshold (None: never); ``values`` [evals] may hold NaN."""
    hit = np.flatnonzero(np.nan_to_num(np.asarray(values, np.float64), nan=-np.inf) >= threshold)
    return None if hit.size == 0 else x[int(hit[0])]


def run_times(workdir: str, thresholds: list[float], survivors_only: bool = False) -> list[dict]:
    """One row per threshold for the run folder ``workdir``."""
    curves = {key: load_curve(workdir, key, survivors_only=survivors_only)
              for key in ("env_steps", "grad_steps", "wall_time_s")}
    wall = curves["wall_time_s"]
    values = wall["values"]  # [evaluations, seeds]
    rows = []
    for r in thresholds:
        mean_at = {key: first_reach(c["x"], np.asarray(c["mean"]), r) for key, c in curves.items()}
        per_seed = [first_reach(wall["x"], values[:, s], r) for s in range(values.shape[1])]
        reached = [t for t in per_seed if t is not None]
        rows.append({"threshold": r, "mean_env_steps": mean_at["env_steps"], "mean_grad_steps": mean_at["grad_steps"],
                     "mean_wall_s": mean_at["wall_time_s"], "seeds": len(per_seed), "seeds_reached": len(reached),
                     "seed_wall_s": per_seed,
                     "median_seed_wall_s": float(np.median(reached)) if len(reached) == len(per_seed) else None})
    return rows


def _fmt(x, digits=0) -> str:
    return "not reached" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def markdown(table: dict[str, list[dict]]) -> str:
    """``table``: label -> run_times rows."""
    lines = ["# Time to reach a return", "",
             "| run | return >= | mean over seeds: env steps | gradient steps | wall time, s | seeds that reached it "
             "| median seed, wall time s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, rows in table.items():
        for row in rows:
            lines.append(f"| {label} | {row['threshold']:g} | {_fmt(row['mean_env_steps'])} | "
                         f"{_fmt(row['mean_grad_steps'])} | {_fmt(row['mean_wall_s'], 1)} | "
                         f"{row['seeds_reached']}/{row['seeds']} | {_fmt(row['median_seed_wall_s'], 1)} |")
    lines += ["", "Mean over seeds: the first evaluation whose mean return reaches the threshold. Median seed: the "
              "median over seeds of each seed's first evaluation at or above it, given only when every seed "
              "reached it. Wall time since the run started (compilation and evaluations included; a folder's "
              "seeds run in one program and share its clock)."]
    return "\n".join(lines) + "\n"
