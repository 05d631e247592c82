"""A reproduced table from its cells' run folders (experiments.reproduce): ours beside the
paper's value in the paper's layout, as markdown, CSV, JSON and a PNG.

Per cell: the table's statistic (experiments.score_stats.Score) over the seeds, its 95%
bootstrap interval over seeds, the paper's value and our/paper ratio, and how many seeds had
crashed by the evaluation reported (they count with their last score before the crash, Bjorck
et al.'s protocol; ``survivors_only`` leaves them out). Across the tasks, per method: the IQM of
the seeds' scores normalised by the paper's value of their cell (1.0 = the paper's number), with
a stratified bootstrap interval, and the performance profile of those normalised scores.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os

import numpy as np

from experiments.paper_tables import Cell, PaperTable
from experiments.report_runs import load_run
from experiments.reproduce_cells import cell_dir
from experiments import score_stats

PROFILE_TAUS = np.linspace(0.0, 1.5, 31)


@dataclasses.dataclass
class CellResult:
    cell: Cell
    folder: str | None  # None: not run (yet) in this OUT
    finished: bool = False
    seeds: int = 0
    env_steps: int | None = None  # the evaluation reported
    ours: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    per_seed: list[float] = dataclasses.field(default_factory=list)  # at the evaluation reported
    diverged: int = 0

    @property
    def ratio(self) -> float:
        p = self.cell.paper
        return self.ours / p if p and not math.isnan(self.ours) else math.nan


def cell_result(cell: Cell, folder: str, table: PaperTable, survivors_only: bool = False) -> CellResult:
    if not os.path.exists(os.path.join(folder, "config.json")):
        return CellResult(cell, None)
    run = load_run(folder, cell.id, survivors_only)
    res = CellResult(cell, folder, os.path.exists(os.path.join(folder, "DONE")), run.num_seeds)
    # as the report's tables: evaluations after the first gradient step, in the score's window
    eligible = (run.grad_steps != 0) & (run.env_steps >= table.score.from_fraction * run.total_env_steps)
    i = score_stats.pick_evaluation(run.values, eligible, table.score)
    if i is None:
        return res
    res.env_steps = int(run.env_steps[i])
    res.ours = float(run.mean_return[i])
    res.ci = score_stats.bootstrap_interval(run.values, eligible, table.score)
    res.per_seed = [float(v) for v in run.values[i]]
    res.diverged = int(run.diverged[i])
    return res


def collect(table: PaperTable, out: str, survivors_only: bool = False) -> list[CellResult]:
    """Every cell of ``table`` (reference-only columns included, with no folder)."""
    return [cell_result(c, cell_dir(out, c), table, survivors_only) if c.config else CellResult(c, None)
            for c in table.cells]


def _fmt(x: float, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def cell_text(r: CellResult) -> str:
    paper = _fmt(r.cell.paper) + (f" ± {_fmt(r.cell.paper_pm)}" if r.cell.paper_pm is not None else "")
    if r.cell.config is None:
        return f"paper {paper} (reference only)"
    if math.isnan(r.ours):
        return f"not run · paper {paper}" if r.folder is None else f"no evaluation yet · paper {paper}"
    ci = f" [{_fmt(r.ci[0])}, {_fmt(r.ci[1])}]" if not math.isnan(r.ci[0]) else ""
    crash = f" ({r.diverged}/{r.seeds} crashed)" if r.diverged else ""
    unfinished = "" if r.finished else "†"
    return f"**{_fmt(r.ours)}**{ci}{unfinished}{crash} · paper {paper} · {_fmt(r.ratio, 2)}×"


def aggregate(table: PaperTable, results: list[CellResult]) -> dict:
    """Per method: IQM of normalised per-seed scores over the tasks it has, with its interval and
    profile. Tasks are stratified; every task of a method contributes the same number of seeds
    (the smallest among them), the first ones."""
    by_method: dict[str, dict[str, list[float]]] = {}
    for r in results:
        if r.cell.config is None or not r.cell.paper or math.isnan(r.ours):
            continue
        task, method = table.task_and_method(r.cell)
        scores = [s / r.cell.paper for s in r.per_seed if not math.isnan(s)]
        if scores:
            by_method.setdefault(method, {})[task] = scores
    out = {}
    for method, tasks in by_method.items():
        k = min(len(v) for v in tasks.values())
        matrix = np.array([v[:k] for v in tasks.values()]).T  # [runs, tasks]
        point, lo, hi = score_stats.iqm_interval(matrix)
        out[method] = {"tasks": sorted(tasks), "runs_per_task": k, "iqm": point, "iqm_ci": [lo, hi],
                       "profile_taus": PROFILE_TAUS.tolist(),
                       "profile": score_stats.performance_profile(matrix, PROFILE_TAUS).tolist()}
    return out


def markdown(table: PaperTable, results: list[CellResult], agg: dict, header: list[str]) -> str:
    by_pos = {(r.cell.row, r.cell.column): r for r in results}
    lines = [f"# {table.title}", "", *header, "",
             "| | " + " | ".join(table.columns) + " |", "|---|" + "---|" * len(table.columns)]
    for row in table.rows:
        cells = [cell_text(by_pos[(row, col)]) if (row, col) in by_pos else "" for col in table.columns]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    reduce = ("highest mean over seeds among the evaluations" if table.score.reduce == "best"
              else "mean over seeds at the last evaluation")
    window = (f" at env steps >= {table.score.from_fraction:g} x the budget" if table.score.from_fraction else "")
    lines += ["", f"Ours: {reduce}{window} after the first gradient step, with a 95% bootstrap interval over seeds "
              "(the evaluation re-picked in each resample); paper: the published value (± as printed); "
              "×: ours / paper. † unfinished cell. (k/S crashed): k seeds had diverged by that evaluation and "
              "count with their last score before the crash (Bjorck et al.'s protocol)."]
    if agg:
        lines += ["", "## Across tasks (scores normalised by the paper's value of their cell)", "",
                  "| method | tasks | runs per task | IQM | 95% CI (stratified bootstrap) |", "|---|---:|---:|---:|---|"]
        for method in table.columns if table.tasks_are == "rows" else table.rows:
            if method in agg:
                a = agg[method]
                lines.append(f"| {method} | {len(a['tasks'])} | {a['runs_per_task']} | {a['iqm']:.3f} | "
                             f"[{a['iqm_ci'][0]:.3f}, {a['iqm_ci'][1]:.3f}] |")
        lines += ["", "Statistics by " + ("rliable" if score_stats.has_rliable() else
                                           "our numpy code (install the [stats] extra for rliable)") + "."]
    return "\n".join(lines) + "\n"


def write_csv(path: str, table: PaperTable, results: list[CellResult]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "row", "column", "config", "folder", "finished", "seeds", "env_steps", "ours",
                    "ci_low", "ci_high", "paper", "paper_pm", "ratio", "crashed"])
        for r in results:
            w.writerow([table.name, r.cell.row, r.cell.column, r.cell.config or "", r.folder or "", r.finished,
                        r.seeds, r.env_steps if r.env_steps is not None else "", r.ours, r.ci[0], r.ci[1],
                        "" if r.cell.paper is None else r.cell.paper,
                        "" if r.cell.paper_pm is None else r.cell.paper_pm, r.ratio, r.diverged])


def draw(path: str, table: PaperTable, results: list[CellResult], agg: dict) -> bool:
    """Our/paper ratio per cell and the methods' performance profiles; False without matplotlib."""
    try:
        import matplotlib  # noqa: PLC0415  (optional: the 'plots' extra)
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    done = [r for r in results if not math.isnan(r.ratio)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    ax1.barh([f"{r.cell.row} / {r.cell.column}" for r in done], [r.ratio for r in done], color="tab:blue")
    ax1.axvline(1.0, color="k", lw=1)
    ax1.set_xlabel("ours / paper")
    ax1.set_title(f"{table.name}: {len(done)} cells")
    for method, a in agg.items():
        ax2.plot(a["profile_taus"], a["profile"], label=f"{method} (IQM {a['iqm']:.2f})")
    ax2.set_xlabel("normalised score tau (1 = paper)")
    ax2.set_ylabel("fraction of runs with score > tau")
    if agg:
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_table(table: PaperTable, out: str, header: list[str], survivors_only: bool = False) -> list[str]:
    """Writes OUT/<table>.md, .csv, .json and .png (with matplotlib); returns the paths."""
    results = collect(table, out, survivors_only)
    agg = aggregate(table, results)
    stem = os.path.join(out, table.name + ("_survivors" if survivors_only else ""))
    paths = [stem + ".md", stem + ".csv", stem + ".json"]
    with open(paths[0], "w") as f:
        f.write(markdown(table, results, agg, header))
    write_csv(paths[1], table, results)
    with open(paths[2], "w") as f:
        json.dump({"table": table.name, "source": table.source, "header": header, "aggregate": agg,
                   "cells": [{"id": r.cell.id, "row": r.cell.row, "column": r.cell.column, "config": r.cell.config,
                              "paper": r.cell.paper, "paper_pm": r.cell.paper_pm, "folder": r.folder,
                              "finished": r.finished, "seeds": r.seeds, "env_steps": r.env_steps,
                              "ours": None if math.isnan(r.ours) else r.ours,
                              "ci": None if math.isnan(r.ci[0]) else list(r.ci),
                              "per_seed": r.per_seed, "crashed": r.diverged} for r in results]}, f, indent=1)
    if draw(stem + ".png", table, results, agg):
        paths.append(stem + ".png")
    return paths
