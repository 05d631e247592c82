"""Learning curves from run directories:
``python -m experiments.plot DIR [DIR ...] --out curves.png [--x grad_steps] [--labels A,B]``.

Each DIR is a workdir of ``experiments.run``; its seeds are averaged at each evaluation (solid
line: mean, band: +-1 standard deviation over seeds, as in Ota et al.). Also writes
``OUT.json`` with the per-evaluation means and per-seed final returns, and prints a summary.
``--window-from X`` also averages each seed over its evaluations at x >= X: one final evaluation
of a few episodes is noisy, a window of several is a steadier figure to compare methods by.
``--metric NAME`` plots another quantity of the records instead of eval_return (e.g.
actor_grad_norm, or a glob such as 'gates/phi_s/*/alive' for one line per matching key);
``--log-y`` for quantities spanning decades.

The curves are experiments.curves', which experiments.report draws too (with tables and grid
heatmaps besides); this entry point keeps its own command line and output file names.
"""
from __future__ import annotations

import argparse
import os
import sys

from experiments.curves import collect_curves, draw_curves, print_summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.plot", description=__doc__.split("\n\n")[0])
    p.add_argument("workdirs", nargs="+")
    p.add_argument("--out", required=True, help="PNG path")
    p.add_argument("--x", default="grad_steps", choices=["grad_steps", "env_steps"])
    p.add_argument("--labels", default=None, help="comma-separated legend labels (default: directory names)")
    p.add_argument("--title", default=None)
    p.add_argument("--metric", default="eval_return", help="recorded quantity (or glob of them) to plot")
    p.add_argument("--log-y", action="store_true", help="logarithmic y axis")
    p.add_argument("--window-from", type=float, default=None,
                   help="also summarise each seed's mean over the evaluations at x >= this value")
    p.add_argument("--survivors-only", action="store_true",
                   help="leave crashed seeds' carried scores out (default: their last evaluation before the crash)")
    args = p.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [os.path.basename(os.path.normpath(d)) for d in args.workdirs]
    if len(labels) != len(args.workdirs):
        p.error("--labels needs one label per workdir")
    try:
        curves = collect_curves(args.workdirs, labels, args.x, args.metric, args.window_from, args.survivors_only)
    except (FileNotFoundError, ValueError) as e:
        p.exit(2, f"error: {e}\n")
    draw_curves(curves, args.out, args.x, args.metric, band="std", log_y=args.log_y, title=args.title)
    print_summary(curves, args.x)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
