"""A learning-rate grid as one vmapped program against the same runs one by one (issue 11):

    python -m benchmarks.grid_vs_runs [--grid=pendulum_sac_lr_grid] [--seeds=8]
        [--total-env-steps=2000] [--warmup-env-steps=1000] [--out=FILE.json]

Side A trains the grid's P points x S seeds as ONE program (experiments.grid's path:
training.run_points with the learning rates carried in the train state). Side B trains the same
P x S runs one after another in the same process, each a run of one seed with its point's
config (``training.run``), so each compiles its own program, as P x S separate jobs would (they
would also pay a process start each, which side B does not). Wall times include compilation;
both sides run the same schedule, without checkpoints. The final evaluation returns of the two
sides are compared row by row: they must agree to float tolerance, or the timing compares
different work.
"""
from __future__ import annotations

import argparse
import copy
import platform
import time

import numpy as np

from benchmarks.package_versions import package_versions
from benchmarks.report_io import peak_memory, write_report
from experiments.configs import get_config, grid_points, grids
from largerl_jax.training import run, run_points
from largerl_jax.training.run_files.outputs import Point


def _final(records: list[dict], index: int = -1) -> list[float]:
    """The eval returns of evaluation ``index`` (-1: the last), one per seed."""
    at = sorted({r["env_steps"] for r in records})[index]
    return [r["eval_return"] for r in records if r["env_steps"] == at]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.grid_vs_runs", description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", default="pendulum_sac_lr_grid")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--total-env-steps", type=int, default=2000)
    p.add_argument("--warmup-env-steps", type=int, default=1000)
    p.add_argument("--out", default="benchmarks/results/grid_vs_runs.json")
    args = p.parse_args(argv)

    base = get_config(args.grid)
    base.total_env_steps, base.warmup_env_steps = args.total_env_steps, args.warmup_env_steps
    base.eval_every_env_steps = base.log_every_env_steps = args.total_env_steps - args.warmup_env_steps
    base.checkpoint_every_env_steps = 0
    points = grid_points(args.grid, base)
    ((carried, group),) = grids.program_groups(points)  # a scalar grid: one program

    t0 = time.perf_counter()
    grid_records = run_points([Point(q.cfg, None, q.name) for q in group], args.seeds, carried, progress=False)
    grid_s = time.perf_counter() - t0
    print(f"one program, {len(points)} points x {args.seeds} seeds: {grid_s:.1f} s")

    t0 = time.perf_counter()
    alone, alone_first = [], []
    for q in points:
        for i in range(args.seeds):
            cfg = copy.deepcopy(q.cfg)
            cfg.seed = q.cfg.seed + i  # row i of the point in the grid's batch
            records = run(cfg, num_seeds=1, progress=False)
            alone.append(_final(records)[0])
            alone_first.append(_final(records, 0)[0])
    runs_s = time.perf_counter() - t0
    print(f"{len(points) * args.seeds} runs one by one: {runs_s:.1f} s ({runs_s / grid_s:.1f}x the grid)")

    grid_final = [x for recs in grid_records for x in _final(recs)]
    grid_first = [x for recs in grid_records for x in _final(recs, 0)]
    first_diff = float(np.max(np.abs(np.asarray(grid_first) - np.asarray(alone_first))))
    diff = np.abs(np.asarray(grid_final) - np.asarray(alone))
    # Identical at the first evaluation (the initial policies); over the 1000s of updates that
    # follow, float rounding that differs between a 32-row and a 1-row program compounds, as it
    # does between any two compilations: compare the points' means, not single runs.
    print(f"largest difference at the first evaluation (before training), grid vs alone: {first_diff:.6f}")
    print(f"final eval returns: largest difference {diff.max():.2f}, median {np.median(diff):.2f}")
    per_point = np.asarray(grid_final).reshape(len(points), args.seeds), np.asarray(alone).reshape(len(points), args.seeds)
    for q, g, a in zip(points, *per_point):
        print(f"  {q.name}: grid {g.mean():.1f} +- {g.std(ddof=1) / np.sqrt(len(g)):.1f}, alone {a.mean():.1f} +- {a.std(ddof=1) / np.sqrt(len(a)):.1f} (mean +- se)")
    peak, peak_kind = peak_memory()
    report = {
        "benchmark": "grid_vs_runs",
        "grid": args.grid,
        "axes": grids.GRIDS[args.grid]["axes"],
        "carried": list(carried),
        "points": len(points),
        "seeds": args.seeds,
        "total_env_steps": args.total_env_steps,
        "warmup_env_steps": args.warmup_env_steps,
        "grid_wall_s": round(grid_s, 2),
        "one_by_one_wall_s": round(runs_s, 2),
        "speedup": round(runs_s / grid_s, 2),
        "max_first_eval_diff": first_diff,
        "max_final_return_diff": float(diff.max()),
        "median_final_return_diff": float(np.median(diff)),
        "grid_final_returns": grid_final,
        "alone_final_returns": alone,
        peak_kind: peak,
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "packages": package_versions(["jax", "jaxlib", "flax", "optax", "numpy"]),
    }
    write_report(report, args.out)
    return report


if __name__ == "__main__":
    main()
