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
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections import defaultdict

import numpy as np


def _records(workdir: str) -> list[dict]:
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir} an experiments.run workdir?")
    with open(path) as f:
        return [json.loads(line) for line in f]


def metric_keys(workdir: str, pattern: str) -> list[str]:
    """Keys of ``workdir``'s records matching ``pattern`` (a name or a glob)."""
    keys = sorted({k for r in _records(workdir) for k in r if fnmatch.fnmatchcase(k, pattern)})
    if not keys:
        raise ValueError(f"{workdir}: no recorded quantity matches {pattern!r}")
    return keys


def load_curve(workdir: str, x_key: str, metric: str = "eval_return") -> dict:
    # One evaluation = one env_steps value. Several evaluations can share an x value (all the
    # warm-up evaluations have grad_steps 0): the latest one stands for that x. Records without
    # the metric (training quantities during warm-up) are left out.
    by_eval: dict[int, list[dict]] = defaultdict(list)
    seeds = set()
    for r in _records(workdir):
        if metric in r:
            by_eval[r["env_steps"]].append(r)
            seeds.add(r["seed"])
    if not by_eval:
        raise ValueError(f"{workdir}: no record holds {metric!r}")
    by_x: dict[int, list[float]] = {}
    for env_steps in sorted(by_eval):
        group = by_eval[env_steps]
        # A diverged seed has no evaluation (None): NaN, left out of the means.
        by_x[group[0][x_key]] = [np.nan if r[metric] is None else r[metric] for r in group]
    xs = sorted(by_x)
    counts = {len(by_x[x]) for x in xs}
    if len(counts) != 1:
        raise ValueError(f"{workdir}: evaluations have different numbers of seeds {sorted(counts)}")
    values = np.array([by_x[x] for x in xs], dtype=np.float64)  # [evals, seeds]
    return {"x": xs, "mean": np.nanmean(values, 1).tolist(), "std": np.nanstd(values, 1).tolist(),
            "final_per_seed": values[-1].tolist(), "seeds": sorted(seeds), "values": values}


def window_summary(curve: dict, x_from: float) -> dict:
    """Per-seed mean over the evaluations at x >= x_from, and their mean and std over seeds."""
    keep = np.asarray(curve["x"]) >= x_from
    if not keep.any():
        raise ValueError(f"no evaluation at x >= {x_from} (last is {curve['x'][-1]})")
    per_seed = curve["values"][keep].mean(0)
    return {"from": x_from, "evaluations": int(keep.sum()), "per_seed": per_seed.tolist(),
            "mean": float(per_seed.mean()), "std": float(per_seed.std())}


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
    args = p.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [os.path.basename(os.path.normpath(d)) for d in args.workdirs]
    if len(labels) != len(args.workdirs):
        p.error("--labels needs one label per workdir")
    try:
        curves = {}
        for label, d in zip(labels, args.workdirs):
            keys = [args.metric] if args.metric == "eval_return" else metric_keys(d, args.metric)
            for key in keys:
                if len(keys) == 1 and key == args.metric:
                    name = label
                else:  # one line per matching key; one run's lines are told apart by key alone
                    name = key if len(args.workdirs) == 1 else f"{label} {key}"
                curves[name] = load_curve(d, args.x, key)
        for c in curves.values():
            if args.window_from is not None:
                c["window"] = window_summary(c, args.window_from)
            c.pop("values")
    except (FileNotFoundError, ValueError) as e:
        p.exit(2, f"error: {e}\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = len(curves) > 6
    fig, ax = plt.subplots(figsize=(9, 4.5) if many else (6, 4))
    for label, c in curves.items():
        x, m, s = np.array(c["x"]), np.array(c["mean"]), np.array(c["std"])
        ax.plot(x, m, label=f"{label} ({len(c['seeds'])} seeds)")
        ax.fill_between(x, m - s, m + s, alpha=0.25)
    ax.set_xlabel(args.x.replace("_", " "))
    ax.set_ylabel("evaluation return" if args.metric == "eval_return" else args.metric)
    if args.log_y:
        ax.set_yscale("log")
    if args.title:
        ax.set_title(args.title)
    if many:  # beside the axes, small, so that it hides no curve
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1 + len(curves) // 18)
    else:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=120)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(curves, f, indent=2)
    for label, c in curves.items():
        print(f"{label}: final mean {c['mean'][-1]:.4g} +- {c['std'][-1]:.3g} at {args.x}={c['x'][-1]}; "
              f"per seed {[round(v, 4) for v in c['final_per_seed']]}")
        if "window" in c:
            w = c["window"]
            print(f"{label}: mean over the {w['evaluations']} evaluations at {args.x} >= {w['from']:g}: "
                  f"{w['mean']:.1f} +- {w['std']:.1f}; per seed {[round(v, 1) for v in w['per_seed']]}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
