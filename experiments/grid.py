"""Grid search: ``python -m experiments.grid --config=NAME [--config.KEY=VALUE ...] [--axis=KEY=V1,V2 ...]
[--seeds=S] [--workdir=DIR] [--resume]``.

NAME is a grid config (experiments/configs/grids.py) or any config given ``--axis`` flags (an
axis is a config key or an alias: units, layers, lr). Points that differ only in scalar
hyperparameters the train state can carry run as ONE compiled program, vmapped with the seeds
(point-major rows, split over all devices); points that change shapes compile separately.
DIR receives grid.json and one complete run folder per point (DIR/POINT); ``--resume``
continues a partly finished grid: finished points are skipped, the others resume from their
checkpoints.

Several hosts: start one process per host, each with the same arguments plus
``--distributed`` (jax.distributed reads the cluster from Slurm and the like) or
``--coordinator=HOST:PORT --num-processes=N --process-id=I``. Every program's rows are then
split over the devices of all processes, which run the programs together; process 0 writes the
run folders (on a file system every process sees) and prints the summary.

Exit codes: 0 done; 2 bad input; 3 every seed of some program diverged; 4 done, some seeds diverged.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import jax

from experiments.cli import add_wandb_flags, config_from_args, wandb_settings
from experiments.configs import grids, is_grid
from experiments.overrides import parse_value
from largerl_jax.training import DiskFullError, DivergenceError, devices, run_points, validate
from largerl_jax.training.run_files.outputs import Point

DONE_FILE = "DONE"  # in a point's folder once its run finished


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.grid", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="grid config (e.g. ant_sac_grid_fig4) or a run config with --axis flags")
    p.add_argument("--axis", action="append", default=[], metavar="KEY=V1,V2",
                   help="an axis of the grid (repeatable; replaces a grid config's axis of that name)")
    p.add_argument("--seeds", type=int, default=1, help="seeds of every point, vmapped with the points")
    p.add_argument("--workdir", default=None, help="output directory (default: runs/NAME-TIMESTAMP)")
    p.add_argument("--resume", action="store_true", help="continue the grid in --workdir")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="print the points and their programs, run nothing")
    p.add_argument("--distributed", action="store_true", help="jax.distributed.initialize() from the cluster's environment")
    p.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 (jax.distributed)")
    p.add_argument("--num-processes", type=int, default=None)
    p.add_argument("--process-id", type=int, default=None)
    add_wandb_flags(p)
    return p


def parse_axes(flags: list[str]) -> dict:
    axes = {}
    for flag in flags:
        key, sep, values = flag.partition("=")
        if not sep or not key or not values:
            raise ValueError(f"--axis={flag!r}: expected KEY=V1,V2,...")
        axes[key] = tuple(parse_value(v) for v in values.split(","))
    return axes


def _init_distributed(args) -> None:
    explicit = args.coordinator is not None or args.num_processes is not None or args.process_id is not None
    if not (args.distributed or explicit):
        return
    if explicit and None in (args.coordinator, args.num_processes, args.process_id):
        raise ValueError("--coordinator, --num-processes and --process-id go together")
    # CPU hosts need a collectives backend for the final barrier and gather.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if explicit:
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    else:
        jax.distributed.initialize()


def _grid_json(name: str, base_name: str, axes: dict, groups) -> dict:
    return {
        "grid": name,
        "base": base_name,
        "axes": {a: list(v) for a, v in axes.items()},
        "points": [{"name": p.name, "values": p.values} for _, g in groups for p in g],
        "programs": [{"carried": list(c), "points": [p.name for p in g]} for c, g in groups],
    }


def _check_grid_json(workdir: str, data: dict, resume: bool) -> bool:
    """Whether grid.json must be written; raises if the folder does not fit the request."""
    path = os.path.join(workdir, "grid.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        if not resume:
            raise FileExistsError(f"{workdir} already holds a grid; pass --resume to continue it or pick another --workdir")
        if saved["points"] != data["points"]:
            raise ValueError(f"the grid's points differ from those saved in {path}; resume with the same grid")
        return False
    if resume:
        raise FileNotFoundError(f"--resume given but {workdir} holds no grid (no grid.json)")
    return True


def _write_grid_json(workdir: str, data: dict) -> None:
    path = os.path.join(workdir, "grid.json")
    os.makedirs(workdir, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _final_returns(records: list[dict]) -> list[float]:
    if not records:
        return []
    last = records[-1]["env_steps"]
    return [math.nan if r.get("eval_return") is None else r["eval_return"] for r in records if r["env_steps"] == last]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, base = config_from_args(parser, argv)
    try:
        axes = dict(grids.GRIDS[args.config]["axes"]) if is_grid(args.config) else {}
        axes.update(parse_axes(args.axis))
        if not axes:
            raise ValueError(f"{args.config!r} is not a grid config; give --axis=KEY=V1,V2 (grids: {grids.grid_names()})")
        if args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
        points = grids.expand(axes, base, args.config)
        groups = grids.program_groups(points)
        _init_distributed(args)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    workdir = args.workdir or os.path.join("runs", f"{args.config}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        for p in points:
            validate(p.cfg)
        # the grid's W&B runs grouped by the grid folder
        wandb = wandb_settings(args, group=os.path.basename(os.path.abspath(workdir)))
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rank, world = jax.process_index(), jax.process_count()
    print(f"grid {args.config}: {len(points)} points in {len(groups)} program(s), {args.seeds} seed(s) each, "
          f"workdir {workdir}; rows split over {len(jax.devices())} device(s)"
          + (f" of {world} processes (this is process {rank})" if world > 1 else ""), file=sys.stderr)
    for carried, group in groups:
        print(f"  program carrying {list(carried) or 'nothing'}: {', '.join(p.name for p in group)}", file=sys.stderr)
    if args.dry_run:
        return 0
    data = _grid_json(args.config, grids.GRIDS.get(args.config, {}).get("base", args.config), axes, groups)
    try:  # every process checks before any writes, so all of them agree on refusing
        fresh = _check_grid_json(workdir, data, args.resume)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    devices.barrier("grid folder checked")
    if fresh and rank == 0:
        _write_grid_json(workdir, data)
    devices.barrier("grid.json written")

    status, finals = 0, {}
    for carried, group in groups:
        todo = [p for p in group if not (args.resume and os.path.exists(os.path.join(workdir, p.name, DONE_FILE)))]
        for p in group:
            if p not in todo:
                print(f"{p.name}: finished earlier, skipped", file=sys.stderr)
        if not todo:
            continue
        run_pts = [Point(p.cfg, os.path.join(workdir, p.name), p.name) for p in todo]
        try:
            records = run_points(run_pts, args.seeds, carried, resume=args.resume, progress=not args.no_progress,
                                 wandb=wandb)
        except (ValueError, FileExistsError, FileNotFoundError, MemoryError, ImportError, DiskFullError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except DivergenceError as e:
            print(f"diverged: {e}", file=sys.stderr)
            status = 3
            continue
        for pt, recs in zip(run_pts, records):
            if rank == 0:
                with open(os.path.join(pt.workdir, DONE_FILE), "w") as f:
                    f.write("finished\n")
            finals[pt.name] = _final_returns(recs)
            if recs and any(r.get("diverged") for r in recs if r["env_steps"] == recs[-1]["env_steps"]):
                status = max(status, 4) if status != 3 else status
        devices.barrier(f"program {todo[0].name} done")
    if rank == 0:
        for p in points:
            row = finals.get(p.name)
            print(f"{p.name}: " + ("no result in this invocation" if row is None else
                                   "final eval_return " + " ".join(f"{x:.1f}" for x in row)))
    return status


if __name__ == "__main__":
    sys.exit(main())
