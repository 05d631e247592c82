"""Learning curves of run folders: per-evaluation mean over seeds with a band of +-1 standard
deviation (``std``, over seeds, as Ota et al. draw theirs) or +-1 standard error of the mean
(``se``), written as a PNG and a JSON of the numbers. Shared by experiments.plot and
experiments.report.

``std`` is the spread of the seeds (numpy's default, ddof 0); ``se`` is the uncertainty of their
mean: the sample standard deviation (ddof 1) over sqrt(seeds), 0 with a single seed.

Crashed seeds (Bjorck et al.'s protocol, see training.runner): a diverged seed's evaluations
after its crash count with its last score before the crash, which the runner writes into its
records (``eval_carried``; run folders written before it did so are carried forward here, on
reading), and every curve counts its diverged seeds per evaluation (``diverged``).
``survivors_only`` leaves the carried scores out instead (the seed is then missing from the
means after its crash). Seeds with no value (crashed before any evaluation) are left out.
"""
from __future__ import annotations

import fnmatch
import json
import os
import warnings
from collections import defaultdict

import numpy as np

from largerl_jax.training.run_files import metrics_io as records_io
def read_records(workdir: str) -> list[dict]:
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir} an experiments.run workdir?")
    return records_io.read(path)


def metric_keys(workdir: str, pattern: str) -> list[str]:
    """Keys of ``workdir``'s records matching ``pattern`` (a name or a glob)."""
    keys = sorted({k for r in read_records(workdir) for k in r if fnmatch.fnmatchcase(k, pattern)})
    if not keys:
        raise ValueError(f"{workdir}: no recorded quantity matches {pattern!r}")
    return keys


def _standard_error(values: np.ndarray) -> np.ndarray:
    n = np.sum(~np.isnan(values), axis=1)
    with warnings.catch_warnings():  # fewer than 2 seeds: no spread to estimate, drawn as 0
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(values, axis=1, ddof=1)
    return np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), 0.0)


def load_curve(workdir: str, x_key: str, metric: str = "eval_return", survivors_only: bool = False) -> dict:
    # One evaluation = one env_steps value. Several evaluations can share an x value (all the
    # warm-up evaluations have grad_steps 0): the latest one stands for that x. Records without
    # the metric (training quantities during warm-up) are left out.
    by_eval: dict[int, list[dict]] = defaultdict(list)
    seeds = set()
    last: dict[int, float] = {}  # each seed's last own (not carried) eval_return, for old folders
    for r in sorted(read_records(workdir), key=lambda r: r["env_steps"]):
        if metric in r:
            value = r[metric]
            if r.get("diverged") and metric == "eval_return":
                if value is None and r["seed"] in last:  # written before the runner carried it
                    value = last[r["seed"]]
                if survivors_only:
                    value = None
            elif metric == "eval_return" and value is not None:
                last[r["seed"]] = value
            by_eval[r["env_steps"]].append({**r, "_value": value})
            seeds.add(r["seed"])
    if not by_eval:
        raise ValueError(f"{workdir}: no record holds {metric!r}")
    by_x: dict[int, list[float]] = {}
    diverged: dict[int, int] = {}
    for env_steps in sorted(by_eval):
        group = by_eval[env_steps]
        by_x[group[0][x_key]] = [np.nan if r["_value"] is None else r["_value"] for r in group]
        diverged[group[0][x_key]] = sum(bool(r.get("diverged")) for r in group)
    xs = sorted(by_x)
    counts = {len(by_x[x]) for x in xs}
    if len(counts) != 1:
        raise ValueError(f"{workdir}: evaluations have different numbers of seeds {sorted(counts)}")
    values = np.array([by_x[x] for x in xs], dtype=np.float64)  # [evals, seeds]
    with warnings.catch_warnings():  # an evaluation where no seed has a value stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(values, 1), np.nanstd(values, 1)
    return {"x": xs, "mean": mean.tolist(), "std": std.tolist(), "final_per_seed": values[-1].tolist(),
            "seeds": sorted(seeds), "values": values, "se": _standard_error(values).tolist(),
            "diverged": [diverged[x] for x in xs], "survivors_only": survivors_only}


def window_summary(curve: dict, x_from: float) -> dict:
    """Per-seed mean over the evaluations at x >= x_from, and their mean and std over seeds."""
    keep = np.asarray(curve["x"]) >= x_from
    if not keep.any():
        raise ValueError(f"no evaluation at x >= {x_from} (last is {curve['x'][-1]})")
    with warnings.catch_warnings():  # a seed with no value in the window (survivors only) is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        per_seed = np.nanmean(curve["values"][keep], 0)
        mean, std = float(np.nanmean(per_seed)), float(np.nanstd(per_seed))
    return {"from": x_from, "evaluations": int(keep.sum()), "per_seed": per_seed.tolist(),
            "mean": mean, "std": std, "diverged": int(np.asarray(curve["diverged"])[keep].max())}


def collect_curves(workdirs: list[str], labels: list[str], x_key: str, metric: str = "eval_return",
                   window_from: float | None = None, survivors_only: bool = False) -> dict[str, dict]:
    """One curve per (workdir, matching metric key), named by label (and key when a glob matches
    several). Raises FileNotFoundError / ValueError with a message for the user."""
    curves = {}
    for label, d in zip(labels, workdirs):
        keys = [metric] if metric == "eval_return" else metric_keys(d, metric)
        for key in keys:
            if len(keys) == 1 and key == metric:
                name = label
            else:  # one line per matching key; one run's lines are told apart by key alone
                name = key if len(workdirs) == 1 else f"{label} {key}"
            curves[name] = load_curve(d, x_key, key, survivors_only)
    for c in curves.values():
        if window_from is not None:
            c["window"] = window_summary(c, window_from)
        c.pop("values")
    return curves


def draw_curves(curves: dict[str, dict], out_png: str, x_key: str, metric: str = "eval_return",
                band: str = "std", log_y: bool = False, title: str | None = None) -> str:
    """Writes the figure to ``out_png`` and the numbers beside it (same name, .json); returns the
    JSON's path."""
    import matplotlib  # optional dependency (the 'plots' extra), only needed to draw

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = len(curves) > 6
    fig, ax = plt.subplots(figsize=(9, 4.5) if many else (6, 4))
    for label, c in curves.items():
        x, m, s = np.array(c["x"]), np.array(c["mean"]), np.array(c[band])
        dead = max(c.get("diverged") or [0])
        ax.plot(x, m, label=f"{label} ({len(c['seeds'])} seeds{_diverged_text(dead, c)})")
        ax.fill_between(x, m - s, m + s, alpha=0.25)
    ax.set_xlabel(x_key.replace("_", " "))
    ylabel = "evaluation return" if metric == "eval_return" else metric
    ax.set_ylabel(ylabel if band == "std" else f"{ylabel} (mean +- standard error)")
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if many:  # beside the axes, small, so that it hides no curve
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1 + len(curves) // 18)
    else:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out_png) or ".", exist_ok=True)
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    json_path = os.path.splitext(out_png)[0] + ".json"
    with open(json_path, "w") as f:
        json.dump(curves, f, indent=2)
    return json_path


def _diverged_text(dead: int, curve: dict) -> str:
    if not dead:
        return ""
    return f", {dead} diverged: {'left out after' if curve.get('survivors_only') else 'last score before'} the crash"


def print_summary(curves: dict[str, dict], x_key: str, band: str = "std") -> None:
    for label, c in curves.items():
        dead = _diverged_text((c.get("diverged") or [0])[-1], c)
        print(f"{label}: final mean {c['mean'][-1]:.4g} +- {c[band][-1]:.3g}{'' if band == 'std' else ' (se)'} "
              f"at {x_key}={c['x'][-1]}; per seed {[round(v, 4) for v in c['final_per_seed']]}"
              f"{' (' + dead[2:] + ')' if dead else ''}")
        if "window" in c:
            w = c["window"]
            dead = _diverged_text(w.get("diverged", 0), c)
            print(f"{label}: mean over the {w['evaluations']} evaluations at {x_key} >= {w['from']:g}: "
                  f"{w['mean']:.1f} +- {w['std']:.1f}; per seed {[round(v, 1) for v in w['per_seed']]}"
                  f"{' (' + dead[2:] + ')' if dead else ''}")
