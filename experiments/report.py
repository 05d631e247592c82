"""Figures and the papers' tables from run folders:
``python -m experiments.report DIR [DIR ...] --out=OUTDIR [--labels=A,B] [--methods=M,...]``.

Writes into OUTDIR, as the DIRs allow:
- ``curves.png`` + ``curves.json``: learning curves of the run folders, mean over seeds with a
  band of +-1 standard error (``--band=std``: standard deviation); ``--x``, ``--metric`` (a name
  or glob), ``--log-y``, ``--window-from`` and ``--title`` as in experiments.plot.
- ``table1.md``: Ota et al. 2021's Table 1 (highest average return per environment, SAC and TD3
  x Ours / OFENet / Original), for the runs whose method the config tells (experiments.ota_table).
- ``pruning_tables.md``: the pruning paper's Tables 3 (score in the last 20% of training, dR /
  tR vs OFE) and 4 (deploy / train counts), for ``TASK_xinet_VARIANT`` runs
  (experiments.pruning_tables).
- ``time_to_return.md`` + ``.json`` with ``--time-to=R[,R...]``: when each run's mean return over
  seeds first reached each R, in env steps, gradient steps and wall time, and when each seed did
  (experiments.time_to_return); ``--x=wall_time_s`` draws the curves against wall time.
- ``heatmap_<grid>.png`` + ``.json`` per grid folder (a DIR holding grid.json): best return over
  the grid's axes (experiments.grid_report). Grid folders get no curves or table rows.

The tables always read eval_return, whatever ``--metric`` draws. A crashed (diverged) seed counts
with its last evaluation before the crash (Bjorck et al.'s protocol) and every mean says how many
seeds diverged; ``--survivors-only`` leaves those scores out instead. ``--methods`` gives each DIR's
method in DIR order: a Table 1 column (experiments.configs.ota_columns.METHODS), a pruning-paper
variant (experiments.configs.xinet.VARIANTS) for the pruning tables, auto (read it from the config: the default) or none (no
table). ``--labels`` names the curves and, when given, the pruning tables' rows.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from experiments.configs.xinet import VARIANTS
from experiments.curves import collect_curves, draw_curves, print_summary
from experiments.grid_report import draw_grid, file_stem, read_grid
from experiments.ota_table import METHODS, infer_method, table1_markdown
from experiments.pruning_tables import method_from_name, pruning_markdown
from experiments.report_runs import load_run
from experiments.time_to_return import markdown as time_to_markdown, run_times

METHOD_CHOICES = (*METHODS, *VARIANTS, "auto", "none")


def is_grid_dir(path: str) -> bool:
    return os.path.exists(os.path.join(path, "grid.json"))


def _split(text: str | None, n: int, what: str, parser: argparse.ArgumentParser) -> list[str] | None:
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    if len(items) != n:
        parser.error(f"--{what} needs one entry per DIR ({n}), got {len(items)}")
    return items


def _table_runs(dirs: list[str], labels: list[str], methods: list[str], notes: list[str],
                survivors_only: bool = False) -> list[tuple]:
    """(Run, method) for every run folder that goes into a table."""
    out = []
    for d, label, method in zip(dirs, labels, methods):
        if method == "none":
            continue
        try:
            run = load_run(d, label, survivors_only)
        except FileNotFoundError as e:
            notes.append(f"tables: {e}")
            continue
        if method == "auto":
            method = method_from_name(run.name) or infer_method(run.config)
        if method is None:
            notes.append(f"tables: {d} ({run.name}) fits neither table's methods; --methods can set one")
            continue
        out.append((run, method))
    return out


def _write(path: str, text: str, written: list[str]) -> None:
    with open(path, "w") as f:
        f.write(text)
    written.append(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run folders of experiments.run, or grid folders")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--labels", default=None, help="comma-separated, one per DIR (default: folder names)")
    p.add_argument("--methods", default=None, help=f"comma-separated, one per DIR, of {', '.join(METHOD_CHOICES)}")
    p.add_argument("--x", default="grad_steps", choices=["grad_steps", "env_steps", "wall_time_s"])
    p.add_argument("--time-to", default=None, metavar="R[,R...]",
                   help="also tabulate when each run's mean return first reached each R (time_to_return.md)")
    p.add_argument("--band", default="se", choices=["se", "std"], help="curves' band: standard error or deviation over seeds")
    p.add_argument("--metric", default="eval_return", help="recorded quantity (or glob of them) the curves draw")
    p.add_argument("--log-y", action="store_true", help="logarithmic y axis for the curves")
    p.add_argument("--window-from", type=float, default=None,
                   help="also summarise each seed's mean over the evaluations at x >= this value")
    p.add_argument("--title", default=None, help="title of the curves")
    p.add_argument("--survivors-only", action="store_true",
                   help="leave crashed seeds' carried scores out (default: Bjorck et al.'s protocol, a crashed seed "
                        "counts with its last evaluation before the crash)")
    args = p.parse_args(argv)
    n = len(args.dirs)
    labels = _split(args.labels, n, "labels", p) or [os.path.basename(os.path.normpath(d)) for d in args.dirs]
    methods = _split(args.methods, n, "methods", p) or ["auto"] * n
    bad = [m for m in methods if m not in METHOD_CHOICES]
    if bad:
        p.error(f"--methods: unknown {', '.join(bad)}; choose from {', '.join(METHOD_CHOICES)}")
    missing = [d for d in args.dirs if not os.path.isdir(d)]
    if missing:
        p.exit(2, f"error: not a folder: {', '.join(missing)}\n")
    thresholds = None
    if args.time_to is not None:
        try:
            thresholds = [float(t) for t in args.time_to.split(",") if t.strip()]
        except ValueError:
            thresholds = []
        if not thresholds or not all(map(math.isfinite, thresholds)):
            p.exit(2, f"error: --time-to={args.time_to!r} must be comma-separated finite returns, e.g. -200,-150\n")

    grids = [i for i, d in enumerate(args.dirs) if is_grid_dir(d)]
    runs = [i for i in range(n) if i not in grids]
    os.makedirs(args.out, exist_ok=True)
    written: list[str] = []
    notes: list[str] = []
    if runs:
        try:
            curves = collect_curves([args.dirs[i] for i in runs], [labels[i] for i in runs], args.x, args.metric,
                                    args.window_from, args.survivors_only)
        except (FileNotFoundError, ValueError) as e:
            p.exit(2, f"error: {e}\n")
        png = os.path.join(args.out, "curves.png")
        written += [png, draw_curves(curves, png, args.x, args.metric, args.band, args.log_y, args.title)]
        print_summary(curves, args.x, args.band)
        table_runs = _table_runs([args.dirs[i] for i in runs], [labels[i] for i in runs], [methods[i] for i in runs], notes,
                                 args.survivors_only)
        table1 = table1_markdown([(r, m) for r, m in table_runs if m in METHODS], notes)
        pruning = pruning_markdown([(r, m) for r, m in table_runs if m in VARIANTS], args.labels is not None, notes)
        for name, text in (("table1.md", table1), ("pruning_tables.md", pruning)):
            if text is not None:
                _write(os.path.join(args.out, name), text, written)
                print(f"\n{name}:\n{text}")
        if thresholds:
            times = {labels[i]: run_times(args.dirs[i], thresholds, args.survivors_only) for i in runs}
            text = time_to_markdown(times)
            _write(os.path.join(args.out, "time_to_return.md"), text, written)
            _write(os.path.join(args.out, "time_to_return.json"), json.dumps(times, indent=1), written)
            print(f"\ntime_to_return.md:\n{text}")
    stems: set[str] = set()
    for i in grids:
        try:
            stem = file_stem(read_grid(args.dirs[i]).get("grid", labels[i]))
            while stem in stems:  # two folders of one grid: both kept
                stem += "_"
            stems.add(stem)
            png = os.path.join(args.out, stem + ".png")
            json_path, g = draw_grid(args.dirs[i], png, labels[i] if args.labels else None, args.survivors_only)
        except (OSError, ValueError, KeyError, TypeError) as e:  # a grid.json not in the documented format
            p.exit(2, f"error: {args.dirs[i]}/grid.json: {type(e).__name__}: {e}\n")
        done = sum(pt["best"] is not None for pt in g["points"])
        print(f"{args.dirs[i]}: grid {g['grid']}, {done} of {len(g['points'])} points evaluated")
        written += [png, json_path]
    for note in notes:
        print(f"note: {note}")
    print("wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
