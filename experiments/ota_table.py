"""Ota et al. 2021's Table 1 from run folders: rows are environments, columns SAC and TD3 each
with Ours / OFENet / Original, a cell is the highest average return over the evaluations (max
over evaluations of the mean over seeds), the best of each environment and algorithm in bold.

The method of a run is read from its config as ``experiments.configs.ota_columns`` declares it
(``--methods`` overrides it); a run that fits no column is left out of the table.
"""
from __future__ import annotations

import math

from experiments.configs.ota_columns import METHODS, infer_method
from experiments.report_runs import Run, describe, order_envs
from largerl_jax.agents import agent_families

__all__ = ["METHODS", "algorithm", "infer_method", "table1_markdown"]
ENV_ORDER = ("hopper", "walker2d", "halfcheetah", "ant", "humanoid")  # the paper's rows


def algorithm(config: dict) -> str | None:
    """The agent family's table label (agents.family), None for an unknown agent."""
    family = agent_families().get(config.get("agent", {}).get("name"))
    return None if family is None else family.label


def table1_markdown(runs: list[tuple[Run, str]], notes: list[str]) -> str | None:
    """Markdown of Table 1 for ``(run, method)`` pairs, or None if no run fits it. Runs that do
    not fit, or land in a cell already taken, get a line in ``notes``."""
    cells: dict[tuple[str, str, str], Run] = {}
    for run, method in runs:
        algo = algorithm(run.config)
        if algo is None or method not in METHODS:
            notes.append(f"table1: {run.dir} left out ({run.config.get('agent', {}).get('name')!r} agent, method "
                         f"{method!r}); Table 1 has SAC/TD3 x Ours/OFENet/Original (--methods sets a run's)")
            continue
        key = (run.config["env"]["name"], algo, method)
        if key in cells:
            notes.append(f"table1: {run.dir} left out: {'/'.join(key)} is already {cells[key].dir}")
            continue
        cells[key] = run
    if not cells:
        return None
    envs = order_envs([k[0] for k in cells], ENV_ORDER)
    columns = [(a, m) for a in ("SAC", "TD3") for m in METHODS]
    value = {key: run.best_return() for key, run in cells.items()}
    lines = ["| Environment | " + " | ".join(f"{a} {METHODS[m]}" for a, m in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for env in envs:
        row = []
        for a, m in columns:
            v = value.get((env, a, m), math.nan)
            if math.isnan(v):
                row.append("—")
                continue
            text = f"{v:.1f}" + ("" if cells[(env, a, m)].finished else "†") + cells[(env, a, m)].diverged_note()
            best = max(x for (e, aa, _), x in value.items() if e == env and aa == a and not math.isnan(x))
            row.append(f"**{text}**" if v == best else text)
        lines.append(f"| {env} | " + " | ".join(row) + " |")
    lines += ["", "Highest average return: max over evaluations after the first gradient step (warm-up "
              "evaluations of the untrained policy left out) of the mean over seeds; bold: best of the "
              "environment and algorithm; —: no run. † unfinished run (its last evaluation is before "
              "total_env_steps). (k/S diverged): k of the S seeds had crashed by that evaluation and count "
              "with their last score before the crash (Bjorck et al.'s protocol).", "", "Runs:"]
    for (env, a, m), run in sorted(cells.items(), key=lambda kv: (envs.index(kv[0][0]), columns.index(kv[0][1:]))):
        lines.append(f"- {env} {a} {METHODS[m]} ({run.label}): {describe(run)}")
    return "\n".join(lines) + "\n"
