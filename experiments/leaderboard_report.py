"""A leaderboard (a table of experiments.reproduce without paper values, such as
``scaling_leaderboard``) from its cells' run folders, as markdown, CSV, JSON and a PNG.

Per task, each method's score (the table's statistic over seeds, with its 95% bootstrap interval
over seeds) and its rank among the methods that have one; per cell, the run's wall time (every
seed in one vmapped program, compilation and evaluations included, from the records'
``wall_time_s``), its simulator steps (agent steps x action repeat, so methods with different
action repeats compare on the same axis) and the parameter counts of each network as run
(experiments.inspect's convention). The PNG draws the mean return over seeds against simulator
steps and against wall time, one column per task.
"""
from __future__ import annotations

import csv
import json
import math
import os

import numpy as np

from experiments.curves import read_records
from experiments.inspect import network_tables
from experiments.paper_tables import PaperTable
from experiments.reproduce_report import CellResult, collect
from experiments.time_to_return import run_times
from largerl_jax.training.run_folder import saved_config


def _fmt(x: float | None, digits: int = 1) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _millions(n: int) -> str:
    return f"{n / 1e6:.3f}M"


def cell_extras(r: CellResult) -> dict:
    """Wall time, simulator steps, action repeat, parameter counts and the return curve (mean over
    seeds per evaluation, against simulator steps and wall time) of a cell's run folder."""
    if r.folder is None:
        return {}
    cfg, _ = saved_config(r.folder)
    repeat = int(cfg.env.action_repeat)
    per_step: dict[int, list[dict]] = {}
    for rec in read_records(r.folder):
        per_step.setdefault(int(rec["env_steps"]), []).append(rec)
    steps = sorted(per_step)
    curve = {"sim_steps": [s * repeat for s in steps],
             "wall_s": [max(float(x.get("wall_time_s", math.nan)) for x in per_step[s]) for s in steps],
             "mean_return": [float(np.nanmean([x.get("eval_return", math.nan) for x in per_step[s]])) for s in steps]}
    params = {name: int(net["params"]) for name, net in network_tables(cfg)["networks"].items()}
    wall = curve["wall_s"][-1] if steps else math.nan
    sim = curve["sim_steps"][-1] if steps else 0
    return {"action_repeat": repeat, "num_envs": int(cfg.env.num_envs), "updates_per_iteration": int(cfg.updates_per_iteration),
            "sim_steps": sim, "wall_s": wall, "sim_steps_per_s": sim / wall if wall and wall > 0 else math.nan,
            "params": params, "curve": curve}


def ranks(table: PaperTable, results: list[CellResult]) -> dict[str, int]:
    """Cell id -> rank of its score among its task's scored methods (1 = highest)."""
    out = {}
    by_task: dict[str, list[CellResult]] = {}
    for r in results:
        if not math.isnan(r.ours):
            by_task.setdefault(table.task_and_method(r.cell)[0], []).append(r)
    for cells in by_task.values():
        for i, r in enumerate(sorted(cells, key=lambda c: -c.ours)):
            out[r.cell.id] = i + 1
    return out


def baseline_times(table: PaperTable, results: list[CellResult]) -> dict[str, dict]:
    """Cell id -> when its mean return first reached its task's baseline score (the table's first
    method's, e.g. SAC 2x256), in simulator steps and wall time: the time-to-return view."""
    first = table.columns[0] if table.tasks_are == "rows" else table.rows[0]
    base = {table.task_and_method(r.cell)[0]: r.ours for r in results
            if table.task_and_method(r.cell)[1] == first and not math.isnan(r.ours)}
    out = {}
    for r in results:
        task = table.task_and_method(r.cell)[0]
        if r.folder is None or task not in base or math.isnan(r.ours):
            continue
        row = run_times(r.folder, [base[task]])[0]
        out[r.cell.id] = {"baseline": base[task], "env_steps": row["mean_env_steps"], "wall_s": row["mean_wall_s"]}
    return out


def cell_text(r: CellResult, rank: int | None) -> str:
    if math.isnan(r.ours):
        return "not run" if r.folder is None else "no evaluation yet"
    ci = f" [{_fmt(r.ci[0])}, {_fmt(r.ci[1])}]" if not math.isnan(r.ci[0]) else ""
    crash = f" ({r.diverged}/{r.seeds} crashed)" if r.diverged else ""
    return f"**{_fmt(r.ours)}**{ci}{'' if r.finished else '†'}{crash} (#{rank})"


def markdown(table: PaperTable, results: list[CellResult], extras: dict, header: list[str]) -> str:
    rank = ranks(table, results)
    first = table.columns[0] if table.tasks_are == "rows" else table.rows[0]
    by_pos = {(r.cell.row, r.cell.column): r for r in results}
    lines = [f"# {table.title}", "", *header, "",
             "| | " + " | ".join(table.columns) + " |", "|---|" + "---|" * len(table.columns)]
    for row in table.rows:
        cells = [cell_text(by_pos[(row, c)], rank.get(by_pos[(row, c)].cell.id)) if (row, c) in by_pos else ""
                 for c in table.columns]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    reduce = ("highest mean over seeds among the evaluations" if table.score.reduce == "best"
              else "mean over seeds at the last evaluation")
    lines += ["", f"Score: {reduce} after the first gradient step, with a 95% bootstrap interval over seeds; "
              "(#k): rank within the task. † unfinished cell. (k/S crashed): k seeds had diverged and count with "
              "their last score before the crash.", "",
              "## Cost", "",
              f"| task | method | simulator steps | envs x updates | wall time (all seeds) | simulator steps/s | "
              f"{first}'s score reached at (steps, s) | parameters |",
              "|---|---|---:|---|---:|---:|---|---|"]
    for r in results:
        e = extras.get(r.cell.id)
        if not e:
            continue
        task, method = table.task_and_method(r.cell)
        params = ", ".join(f"{name} {_millions(n)}" for name, n in e["params"].items())
        reach = e.get("baseline_reached") or {}
        at = ("not reached" if reach.get("wall_s") is None else
              f"{reach['env_steps'] * e['action_repeat']:,}, {reach['wall_s']:,.0f}") if reach else "—"
        lines.append(f"| {task} | {method} | {e['sim_steps']:,} (repeat {e['action_repeat']}) | "
                     f"{e['num_envs']} x {e['updates_per_iteration']} | {_fmt(e['wall_s'], 0)} s | "
                     f"{_fmt(e['sim_steps_per_s'])} | {at} | {params} |")
    lines += ["", "Wall time: every seed of the cell in one vmapped program, compilation, evaluations and "
              "checkpoints included (the records' wall_time_s at the last evaluation). Score reached at: the first "
              f"evaluation whose mean over seeds reached the task's {first} score (experiments.time_to_return), in "
              "simulator steps and seconds of wall time. Parameters: per network, ensemble members summed "
              "(experiments.inspect's convention)."]
    return "\n".join(lines) + "\n"


def write_csv(path: str, table: PaperTable, results: list[CellResult], extras: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "task", "method", "config", "folder", "finished", "seeds", "env_steps", "score",
                    "ci_low", "ci_high", "crashed", "sim_steps", "wall_s", "params"])
        for r in results:
            e = extras.get(r.cell.id, {})
            task, method = table.task_and_method(r.cell)
            w.writerow([table.name, task, method, r.cell.config or "", r.folder or "", r.finished, r.seeds,
                        "" if r.env_steps is None else r.env_steps, r.ours, r.ci[0], r.ci[1], r.diverged,
                        e.get("sim_steps", ""), e.get("wall_s", ""), json.dumps(e.get("params", {}))])


def draw(path: str, table: PaperTable, results: list[CellResult], extras: dict) -> bool:
    """Mean return against simulator steps (top) and wall time (bottom) per task; False without
    matplotlib."""
    try:
        import matplotlib  # noqa: PLC0415  (optional: the 'plots' extra)
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    tasks = list(table.rows if table.tasks_are == "rows" else table.columns)
    fig, axes = plt.subplots(2, len(tasks), figsize=(5.5 * len(tasks), 7), squeeze=False)
    for r in results:
        e = extras.get(r.cell.id)
        if not e or not e["curve"]["sim_steps"]:
            continue
        task, method = table.task_and_method(r.cell)
        col = tasks.index(task)
        c = e["curve"]
        axes[0][col].plot(c["sim_steps"], c["mean_return"], marker="o", label=method)
        axes[1][col].plot(c["wall_s"], c["mean_return"], marker="o", label=method)
    for col, task in enumerate(tasks):
        axes[0][col].set_title(task)
        axes[0][col].set_xlabel("simulator steps")
        axes[1][col].set_xlabel("wall time, s (all seeds)")
        for ax in (axes[0][col], axes[1][col]):
            ax.set_ylabel("mean return over seeds")
            if ax.lines:
                ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_leaderboard(table: PaperTable, out: str, header: list[str], survivors_only: bool = False) -> list[str]:
    """Writes OUT/<table>.md, .csv, .json and .png (with matplotlib); returns the paths."""
    results = collect(table, out, survivors_only)
    extras = {r.cell.id: cell_extras(r) for r in results}
    for cell_id, reach in baseline_times(table, results).items():
        extras[cell_id]["baseline_reached"] = reach
    rank = ranks(table, results)
    stem = os.path.join(out, table.name + ("_survivors" if survivors_only else ""))
    paths = [stem + ".md", stem + ".csv", stem + ".json"]
    with open(paths[0], "w") as f:
        f.write(markdown(table, results, extras, header))
    write_csv(paths[1], table, results, extras)
    with open(paths[2], "w") as f:
        json.dump({"table": table.name, "source": table.source, "header": header,
                   "cells": [{"id": r.cell.id, "task": table.task_and_method(r.cell)[0],
                              "method": table.task_and_method(r.cell)[1], "config": r.cell.config,
                              "folder": r.folder, "finished": r.finished, "seeds": r.seeds, "env_steps": r.env_steps,
                              "score": None if math.isnan(r.ours) else r.ours,
                              "ci": None if math.isnan(r.ci[0]) else list(r.ci), "rank": rank.get(r.cell.id),
                              "per_seed": r.per_seed, "crashed": r.diverged, **extras.get(r.cell.id, {})}
                             for r in results]}, f, indent=1)
    if draw(stem + ".png", table, results, extras):
        paths.append(stem + ".png")
    return paths
