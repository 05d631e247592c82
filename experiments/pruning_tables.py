"""The pruning paper's Tables 3 and 4 from run folders.

Table 3: rows SAC, SAC-Big, OFE, OFE-Big, Prune-A/B/C, columns environments; a cell is the
highest score seen in the last 20% of training (max over the evaluations at env steps >= 0.8 x
total_env_steps of the mean over seeds) with dR / tR, the deploy / train parameter counts as a
fraction of the same environment's OFE run among those given ("—" without one). Table 4: the
counts themselves, "d / t" in thousands.

Counts follow experiments.inspect (pruning paper's Table 4 convention). A run whose records hold
``params/deploy`` (a pruned run: alive units only) is counted from its last record of each seed,
averaged over seeds; any other run from its config, as ``experiments.inspect`` counts it.
"""
from __future__ import annotations

import math
import os

import numpy as np

from experiments.configs.xinet import VARIANTS, deploy_train, parse_xinet_name
from experiments.curves import read_records
from experiments.inspect import network_tables
from experiments.report_runs import Run, describe, order_envs
from largerl_jax.training.run_folder import saved_config

NAMES = {"sac": "SAC", "sac_big": "SAC-Big", "ofe": "OFE", "ofe_big": "OFE-Big",
         "prune_a": "Prune-A", "prune_b": "Prune-B", "prune_c": "Prune-C"}
ENV_ORDER = ("halfcheetah", "ant", "hopper", "walker2d")  # the paper's columns
LAST_FRACTION = 0.2


def method_from_name(config_name: str) -> str | None:
    """The variant of a ``[gym_]TASK_xinet_VARIANT`` config (a grid point's GRID/POINT too)."""
    parsed = parse_xinet_name(config_name.split("/")[0])
    return parsed[1] if parsed else None


def final_score(run: Run) -> float:
    """Highest mean-over-seeds return in the last 20% of the run's budget."""
    return run.best_return((1 - LAST_FRACTION) * run.total_env_steps)


def param_counts(run: Run) -> dict | None:
    """{"deploy", "train", "per_seed" (pruned runs only), "source"}; None for a pruned run not yet
    evaluated, whose size is not known until its first record."""
    last: dict[int, dict] = {}
    for r in read_records(run.dir):
        if r.get("params/deploy") is not None:
            last[r["seed"]] = r
    if last:
        per_seed = [(s, last[s]["params/deploy"], last[s]["params/train"]) for s in sorted(last)]
        return {"deploy": float(np.mean([d for _, d, _ in per_seed])), "train": float(np.mean([t for _, _, t in per_seed])),
                "per_seed": per_seed, "source": "metrics.jsonl"}
    if run.config.get("agent", {}).get("pruning", {}).get("enabled"):
        return None
    cfg, _ = saved_config(run.dir)
    counts = deploy_train(network_tables(cfg, "trainable"))
    return None if counts is None else {**counts, "source": "config"}


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%" if 100 * x >= 10 else f"{100 * x:.1f}%"


def _thousands(x: float) -> str:
    return f"{x / 1000:.0f}" if x >= 10_000 else f"{x / 1000:.1f}"


def _place(runs: list[tuple[Run, str]], explicit_labels: bool) -> tuple[list[str], dict]:
    """Row names in the paper's order and {(row, env): (run, variant)}."""
    rows: list[str] = []
    cells: dict[tuple[str, str], tuple[Run, str]] = {}
    for run, variant in sorted(runs, key=lambda rv: VARIANTS.index(rv[1])):
        row = run.label if explicit_labels else NAMES[variant]
        if (row, run.config["env"]["name"]) in cells:  # two runs of one variant, no labels given
            row = f"{row} ({os.path.basename(os.path.normpath(run.dir))})"
        cells[(row, run.config["env"]["name"])] = (run, variant)
        if row not in rows:
            rows.append(row)
    return rows, cells


def _counts(cells: dict, notes: list[str]) -> dict:
    out = {}
    for key, (run, _) in cells.items():
        try:
            out[key] = param_counts(run)
        except ValueError as e:  # a saved config this code can no longer rebuild
            notes.append(f"pruning tables: no parameter counts for {run.dir}: {e}")
            out[key] = None
    return out


def _baselines(cells: dict, counts: dict, notes: list[str]) -> dict[str, dict]:
    """env -> counts of the first OFE run of that env."""
    out: dict[str, tuple[Run, dict]] = {}
    for key, (run, variant) in cells.items():
        if variant != "ofe" or counts[key] is None:
            continue
        if key[1] in out:
            notes.append(f"pruning tables: ratios on {key[1]} are against {out[key[1]][0].dir}, not {run.dir}")
            continue
        out[key[1]] = (run, counts[key])
    return {env: n for env, (_, n) in out.items()}


def _score_cell(run: Run, n: dict | None, baseline: dict | None) -> str:
    score = final_score(run)
    ratio = "— / —"
    if n is not None and baseline is not None:
        ratio = f"{_percent(n['deploy'] / baseline['deploy'])} / {_percent(n['train'] / baseline['train'])}"
    dead = run.diverged_note((1 - LAST_FRACTION) * run.total_env_steps)
    return ("—" if math.isnan(score) else f"{score:.0f}") + ("" if run.finished else "†") + dead + f" ({ratio})"


def _markdown_table(corner: str, envs: list[str], rows: list[str], cell) -> list[str]:
    lines = [f"| {corner} | " + " | ".join(envs) + " |", "|---|" + "---:|" * len(envs)]
    return lines + [f"| {row} | " + " | ".join(cell(row, env) for env in envs) + " |" for row in rows]


def pruning_markdown(runs: list[tuple[Run, str]], explicit_labels: bool, notes: list[str]) -> str | None:
    """Markdown of Tables 3 and 4 for ``(run, variant)`` pairs, or None without any. Rows are the
    variants' names, or the runs' labels when the user gave them (two runs of one variant, such
    as the same config with other constants, need labels to be told apart)."""
    if not runs:
        return None
    rows, cells = _place(runs, explicit_labels)
    envs = order_envs([e for _, e in cells], ENV_ORDER)
    counts = _counts(cells, notes)
    baseline = _baselines(cells, counts, notes)

    def score(row, env):
        return _score_cell(cells[(row, env)][0], counts[(row, env)], baseline.get(env)) if (row, env) in cells else "—"

    def params(row, env):
        n = counts.get((row, env))
        return "—" if n is None else f"{_thousands(n['deploy'])} / {_thousands(n['train'])}"

    lines = ["## Table 3: score in the last 20% of training, deploy / train ratios vs OFE", "",
             *_markdown_table("score (dR / tR)", envs, rows, score), "",
             "Score: max over the evaluations at env steps >= 80% of total_env_steps of the mean over seeds. "
             "dR / tR: deploy / train parameters relative to the OFE run of the same environment (— without one). "
             "† unfinished run (its last evaluation is before total_env_steps). (k/S diverged): k of the S seeds had "
             "crashed by that evaluation and count with their last score before the crash.", "",
             "## Table 4: deploy / train parameter counts", "",
             *_markdown_table("d / t params [thousands]", envs, rows, params), "",
             "Counted as experiments.inspect does (trainable parameters; deploy = phi_s + policy, train = phi_s + "
             "phi_sa + policy + V + Q1 + Q2; targets and OFENet's predictor not counted). Pruned runs: alive units "
             "at each seed's last evaluation, mean over seeds.", "", "Runs:"]
    for (row, env), (run, variant) in cells.items():
        n = counts[(row, env)]
        source = "" if n is None else f"; counts from {n['source']}"
        if n is not None and "per_seed" in n:
            source += " (" + ", ".join(f"seed {s}: {d:,.0f} / {t:,.0f}" for s, d, t in n["per_seed"]) + ")"
        lines.append(f"- {row}, {env} ({NAMES[variant]}): {describe(run, (1 - LAST_FRACTION) * run.total_env_steps)}{source}")
    return "\n".join(lines) + "\n"
