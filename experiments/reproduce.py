"""Reproduce a paper's table: ``python -m experiments.reproduce TABLE [--out=DIR] [--seeds=S]
[--cells=GLOB,...] [--scale=F] [--set KEY=VALUE ...] [--shard=i/n] [--suite=PREFIX] [--dry-run]
[--survivors-only] [--wandb[=PROJECT]]``.

TABLE is ``ota_table1`` (Ota et al. 2021, Table 1: SAC and TD3 x Ours / OFENet / Original x 5
tasks), ``bjorck_table1`` (Bjorck et al. 2021, Table 1: 15 pixel DMC tasks, MLP against
modern + SN), ``xinet_table3`` (the pruning paper's Table 3: SAC, SAC-Big, OFE, OFE-Big,
Prune-A/B/C x 4 tasks), ``scaling_leaderboard`` (no paper: SAC, Ota's and Bjorck's methods,
SimBa, SimbaV2 and BRO (Fast) at reduced scale on one MJX and one Playground DMC task, with wall
time and parameter counts) or ``parallel_leaderboard`` (no paper: SAC, CrossQ, FastTD3 and
FastSAC at 64 envs, and SimBa, at equal wall time per cell); experiments/paper_tables.py holds their cells, configs and the
papers' values with their sources.

Each cell runs as one vmapped program of S seeds (default: the paper's) in DIR/cells/<cell>, an
ordinary run folder. Rerunning the command resumes: finished cells are skipped and partial ones
continue from their last checkpoint (exactly for JAX env cells; Gymnasium and pixel cells restart
their episodes on a resume, so their runs differ from an uninterrupted one after it). ``--cells`` picks cells by glob over their ids (e.g.
``'hopper__*'``); ``--shard=i/n`` runs every n-th of them from the i-th, so n independent jobs (a
Slurm array: ``--shard=$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``) share the cells over one
DIR on a shared file system. ``--scale=F`` multiplies each cell's budget, cadences and update-counted
phases (experiments/reproduce_cells.py says which fields); ``--set KEY=VALUE`` overrides a key
in every selected cell whose config has it. The scale, seeds, suite and overrides are fixed per DIR
(DIR/plan.json): a rerun with others is refused.

After running (and with nothing to run) the table is written from every cell folder in DIR, not
only this invocation's: DIR/TABLE.md, .csv, .json, .png, ours (mean, 95% bootstrap interval over
seeds) beside the paper's value and their ratio, and per method the IQM of paper-normalised
scores with stratified bootstrap intervals and performance profiles (experiments.score_stats).

``--dry-run`` prints the plan and its cost: each selected cell's program compiled and timed for
a few iterations on this machine's default device (experiments.measure_cell, one process per
cell), scaled to
its budget, in hours per cell and in all; nothing is written.

Exit codes: 0 done; 2 bad input; 4 done, but some cell's seeds all diverged.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from experiments.cli import add_wandb_flags, wandb_settings
from experiments.paper_tables import paper_table, table_names
from experiments import reproduce_cells as cells_mod
from experiments.leaderboard_report import write_leaderboard
from experiments.reproduce_report import write_table

PLAN_FILE = "plan.json"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.reproduce", description=__doc__.split("\n\n")[0])
    p.add_argument("table", help="one of " + ", ".join(table_names()))
    p.add_argument("--out", default=None, help="output folder (default: runs/reproduce/TABLE)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell (default: the paper's)")
    p.add_argument("--cells", default=None, help="comma-separated globs over cell ids (default: every cell)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply each cell's budget (e.g. 0.01 for a smoke run)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override KEY in every selected cell whose config has it (repeatable)")
    p.add_argument("--shard", default=None, help="i/n: run every n-th selected cell from the i-th")
    p.add_argument("--suite", default=None, help="config-name prefix of the cells (ota/xinet: gym_ (default) or '' for MJX)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and its measured cost; run nothing")
    p.add_argument("--measure-iterations", type=int, default=8, help="iterations timed per cell by --dry-run")
    p.add_argument("--survivors-only", action="store_true", help="tables without crashed seeds' carried scores")
    p.add_argument("--no-progress", action="store_true")
    add_wandb_flags(p)
    return p


def _parse_sets(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r} must be KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return out


def _check_plan(out: str, plan: dict) -> None:
    path = os.path.join(out, PLAN_FILE)
    if not os.path.exists(path):
        return
    with open(path) as f:
        old = json.load(f)
    diff = [k for k in ("table", "suite", "seeds", "scale", "overrides") if old.get(k) != plan[k]]
    if diff:
        raise ValueError(f"{out} was made with " + ", ".join(f"{k}={old.get(k)!r}" for k in diff)
                         + f", not {', '.join(f'{k}={plan[k]!r}' for k in diff)}: use the same or another --out")


def _header(table, plan: dict) -> list[str]:
    return [f"Source: {table.source}. Seeds per cell: {plan['seeds']} (paper: {table.seeds_note}).",
            f"Made by `{plan['command']}` on {platform.node()} ({platform.machine()}), {time.strftime('%Y-%m-%d')}; "
            f"budget scale {plan['scale']:g}" + (f", overrides {plan['overrides']}" if plan["overrides"] else "")
            + (", configs " + (plan["suite"] or "MJX") + "*" if table.suites else "") + "."]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        table = paper_table(args.table, args.suite)
        seeds = table.seeds if args.seeds is None else args.seeds
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}")
        if not args.scale > 0:
            raise ValueError(f"--scale must be positive, got {args.scale}")
        if args.measure_iterations < 1:
            raise ValueError(f"--measure-iterations must be at least 1, got {args.measure_iterations}")
        shard = None if args.shard is None else cells_mod.parse_shard(args.shard)
        patterns = None if args.cells is None else [p.strip() for p in args.cells.split(",") if p.strip()]
        selected = cells_mod.select(table, patterns, shard)
        overrides = _parse_sets(args.set)
        cells_mod.check_overrides(selected, overrides)
        configs = {c.id: cells_mod.cell_config(c, args.scale, overrides) for c in selected}
        cells_mod.validate_all(selected, configs)
        out = args.out or os.path.join("runs", "reproduce", table.name)
        suite = args.suite if args.suite is not None else (table.suites[0] if table.suites else "")
        plan = {"table": table.name, "suite": suite, "seeds": seeds,
                "scale": args.scale, "overrides": [f"{k}={v}" for k, v in overrides],
                "command": "python -m experiments.reproduce " + " ".join(argv)}
        _check_plan(out, plan)
        wandb = wandb_settings(args, group=table.name)  # a table's cells grouped by the table
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print(f"{table.title}: {len(selected)} of {len(table.runnable())} cells, {seeds} seed(s) each, out {out}",
          file=sys.stderr)
    if args.dry_run:
        return _dry_run(selected, configs, out, seeds, args.measure_iterations)

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, PLAN_FILE), "w") as f:
        json.dump({k: plan[k] for k in ("table", "suite", "seeds", "scale", "overrides")}, f, indent=1)
    status = 0
    for cell in selected:
        state = cells_mod.cell_status(out, cell)
        if state == "done":
            print(f"{cell.id}: finished earlier, skipped", file=sys.stderr)
            continue
        print(f"{cell.id}: {'resuming' if state == 'partial' else 'running'} {cell.config}", file=sys.stderr)
        try:
            result = cells_mod.run_cell(out, cell, configs[cell.id], seeds, progress=not args.no_progress, wandb=wandb)
        except (ValueError, FileExistsError, FileNotFoundError, MemoryError, ImportError) as e:
            print(f"error: cell {cell.id}: {e}", file=sys.stderr)
            return 2
        if result == "diverged":
            print(f"{cell.id}: every seed diverged; scored by their last evaluations", file=sys.stderr)
            status = 4
    write = write_leaderboard if table.leaderboard else write_table
    for path in write(table, out, _header(table, plan), args.survivors_only):
        print(path)
    return status


def _dry_run(selected, configs, out: str, seeds: int, iterations: int) -> int:
    total = 0.0
    print(f"{'cell':<34} {'config':<34} {'status':<8} {'iterations':>10} {'s/iter':>9} {'compile s':>9} {'hours':>8}")
    for cell in selected:
        cfg = configs[cell.id]
        try:
            cost = cells_mod.measure_cell_cost(cell, cfg, seeds, iterations)
        except ValueError as e:
            print(f"error: cell {cell.id}: {e}", file=sys.stderr)
            return 2
        total += cost["hours"]
        print(f"{cell.id:<34} {cell.config:<34} {cells_mod.cell_status(out, cell):<8} {cost['iterations']:>10,} "
              f"{cost['s_per_iteration']:>9.4f} {cost['compile_s']:>9.1f} {cost['hours']:>8.2f}", flush=True)
    device = cost["device"] if selected else "-"
    print(f"total: {total:.2f} hours of training iterations on {device} (one cell at a time; warm-up, "
          "evaluations and checkpoints not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
