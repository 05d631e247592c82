"""What experiments.report's tables need to know about one run folder: its saved config as
written (config.json), its evaluations (mean over seeds per evaluation) and how far it got."""
from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np

from experiments.configs import get_config
from experiments.curves import load_curve, read_records


@dataclasses.dataclass
class Run:
    dir: str
    label: str
    config: dict  # config.json without the runner's "_" keys
    num_seeds: int
    env_steps: np.ndarray  # [evals] env steps of each evaluation
    mean_return: np.ndarray  # [evals] eval_return averaged over the seeds (NaN: every seed diverged)
    grad_steps: np.ndarray  # [evals] gradient steps at each evaluation
    diverged: np.ndarray = None  # [evals] seeds diverged by each evaluation (their score: the last before)
    values: np.ndarray = None  # [evals, seeds] each seed's eval_return (NaN: no value)

    @property
    def name(self) -> str:
        return self.config.get("name", "")

    @property
    def total_env_steps(self) -> int:
        return int(self.config["total_env_steps"])

    @property
    def finished(self) -> bool:
        return len(self.env_steps) > 0 and self.env_steps[-1] >= self.total_env_steps

    def best_evaluation(self, from_env_steps: float = 0) -> int | None:
        """Index of the evaluation with the highest mean-over-seeds return among those at env
        steps >= from_env_steps (None if there is none). Evaluations before the first gradient
        step (warm-up) do not count: they score the untrained initial policy, which on tasks with
        a survival bonus (Ant) can beat an early trained one."""
        trained = self.grad_steps != 0
        candidates = np.flatnonzero((self.env_steps >= from_env_steps) & trained & ~np.isnan(self.mean_return))
        return int(candidates[np.argmax(self.mean_return[candidates])]) if candidates.size else None

    def best_return(self, from_env_steps: float = 0) -> float:
        i = self.best_evaluation(from_env_steps)
        return float("nan") if i is None else float(self.mean_return[i])

    def diverged_note(self, from_env_steps: float = 0) -> str:
        """' (k/S diverged)' for the mean ``best_return`` reports, '' when no seed had diverged."""
        i = self.best_evaluation(from_env_steps)
        k = 0 if i is None or self.diverged is None else int(self.diverged[i])
        return f" ({k}/{self.num_seeds} diverged)" if k else ""


def task_of(env_name: str) -> str:
    """'Ant-v4' and MJX 'ant' are both the paper's Ant."""
    return re.sub(r"-v\d+$", "", env_name.lower())


def order_envs(env_names, paper_order: tuple[str, ...]) -> list[str]:
    """Distinct env names in the paper's order, others after them in the order first seen."""
    seen = list(dict.fromkeys(env_names))
    rank = lambda e: paper_order.index(task_of(e)) if task_of(e) in paper_order else len(paper_order)  # noqa: E731
    return sorted(seen, key=lambda e: (rank(e), seen.index(e)))


def read_config(workdir: str) -> tuple[dict, int]:
    """config.json as saved by the runner, without its "_" keys, and the run's number of seeds."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} has no config.json: not an experiments.run folder")
    with open(path) as f:
        saved = json.load(f)
    return {k: v for k, v in saved.items() if not k.startswith("_")}, int(saved.get("_num_seeds", 1))


def load_run(workdir: str, label: str, survivors_only: bool = False) -> Run:
    """``survivors_only``: crashed seeds' carried scores left out (see experiments.curves)."""
    config, num_seeds = read_config(workdir)
    try:
        curve = load_curve(workdir, "env_steps", survivors_only=survivors_only)
        env_steps, mean = np.asarray(curve["x"]), np.asarray(curve["mean"], dtype=np.float64)
        diverged = np.asarray(curve["diverged"], dtype=np.int64)
        values = curve["values"]
    except (FileNotFoundError, ValueError):  # started, not evaluated yet
        env_steps, mean, diverged = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        values = np.zeros((0, num_seeds))
    grad = {r["env_steps"]: r.get("grad_steps", -1) for r in read_records(workdir)} if len(env_steps) else {}
    return Run(workdir, label, config, num_seeds, env_steps, mean, np.array([grad[s] for s in env_steps], dtype=np.int64),
               diverged, values)


def flatten(d: dict, prefix: str = "") -> dict:
    """{'a.b': value} for a nested dict {'a': {'b': value}} (config.json's keys, dotted)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def config_differences(run: Run) -> dict:
    """Saved config values that differ from the current code's config of the same name: the
    run's overrides (or defaults changed since it ran), so a table can say what it shows. Keys
    the run predates are not differences."""
    base = run.name.split("/")[0]  # a grid point GRID/POINT differs from its grid's base by the point
    try:
        named = flatten(json.loads(get_config(base).to_json_best_effort()))
    except ValueError:  # a config name this code no longer has
        return {}
    saved = flatten(run.config)
    return {k: v for k, v in saved.items() if k != "name" and k in named and named[k] != v}


def describe(run: Run, best_from: float = 0) -> str:
    """One line for a table's footnotes: folder, config, seeds, progress, where the best
    evaluation (from env step ``best_from`` on) was, and the config's overrides."""
    if len(run.env_steps):
        progress = f"{len(run.env_steps)} evaluations up to {int(run.env_steps[-1])} of {run.total_env_steps} env steps"
    else:
        progress = f"no evaluation yet (of {run.total_env_steps} env steps)"
    i = run.best_evaluation(best_from)
    if i is not None:  # a best evaluation at grad step 0 is the untrained policy's
        progress += f", best at env step {int(run.env_steps[i])} (grad step {int(run.grad_steps[i])})"
    if run.diverged is not None and len(run.diverged) and run.diverged[-1]:
        progress += f", {int(run.diverged[-1])} seed(s) diverged (scored by their last evaluation before the crash)"
    diffs = config_differences(run)
    over = "; differs from the named config in " + ", ".join(f"{k}={v}" for k, v in sorted(diffs.items())) if diffs else ""
    return f"`{run.dir}` ({run.name}, {run.num_seeds} seeds, {progress}{over})"
