"""The cells of a reproduced table as runs (experiments.reproduce): their configs at a chosen
scale, selection and sharding, their folders' state, running one, and the measured cost of one.

A cell's folder ``OUT/cells/<cell id>`` is an ordinary run folder (experiments.report, export
and video read it), plus a ``DONE`` file once the run finished. Every seed of a cell runs in one
vmapped program, each cell in a process of its own.
"""
from __future__ import annotations

import fnmatch
import json
import math
import os
import subprocess
import sys

import ml_collections

from experiments.configs import get_config
from experiments.overrides import apply_override
from experiments.paper_tables import Cell, PaperTable
from experiments.report_runs import flatten
from largerl_jax.training import validate

DONE_FILE = "DONE"
# What --scale multiplies besides the run's budget and cadences (scale_budget): the agent phases
# that count updates (OFENet pre-training, the XiNet gates' fixed phase), where a config has them.
SCALED_UPDATES = ("agent.ofenet.pretrain_updates", "agent.pruning.warmup_updates")


def _get(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            return None
        node = node[part]
    return node


def _parent_has(cfg, dotted: str) -> bool:
    *parents, leaf = dotted.split(".")
    node = _get(cfg, ".".join(parents)) if parents else cfg
    return isinstance(node, ml_collections.ConfigDict) and leaf in node


def scale_budget(cfg, factor: float) -> None:
    """Multiplies total, warm-up, log and evaluation env steps by ``factor`` in place, each rounded to a multiple of the env
    count (at least one iteration; the warm-up at least a batch), keeps the checkpoint cadence a
    multiple of the evaluation cadence, and scales SCALED_UPDATES (at least 0)."""
    if factor == 1.0:
        return
    n = cfg.env.num_envs
    up = lambda x: max(n, int(math.ceil(x * factor / n)) * n)  # noqa: E731
    ck_evals = cfg.checkpoint_every_env_steps // cfg.eval_every_env_steps if cfg.eval_every_env_steps else 0
    cfg.eval_every_env_steps = up(cfg.eval_every_env_steps)
    cfg.log_every_env_steps = min(up(cfg.log_every_env_steps), cfg.eval_every_env_steps)
    cfg.warmup_env_steps = max(up(cfg.warmup_env_steps), int(math.ceil(cfg.agent.batch_size / n)) * n)
    cfg.total_env_steps = max(up(cfg.total_env_steps), cfg.warmup_env_steps + cfg.eval_every_env_steps)
    cfg.checkpoint_every_env_steps = ck_evals * cfg.eval_every_env_steps
    for key in SCALED_UPDATES:
        if _parent_has(cfg, key):
            *parents, leaf = key.split(".")
            node = _get(cfg, ".".join(parents))
            node[leaf] = int(round(node[leaf] * factor))


def cell_config(cell: Cell, scale: float, overrides: list[tuple[str, str]]) -> ml_collections.ConfigDict:
    """The cell's config at ``scale`` with the ``overrides`` (KEY, VALUE) that its config has."""
    cfg = get_config(cell.config)
    scale_budget(cfg, scale)
    for key, value in overrides:
        if _parent_has(cfg, key):
            apply_override(cfg, key, value)
    return cfg


def check_overrides(cells: list[Cell], overrides: list[tuple[str, str]]) -> None:
    """ValueError for an override that no selected cell's config has (a typo, most likely)."""
    configs = [get_config(c.config) for c in cells]
    for key, _ in overrides:
        if not any(_parent_has(cfg, key) for cfg in configs):
            raise ValueError(f"--set {key}: no selected cell's config has this key")


def select(table: PaperTable, patterns: list[str] | None, shard: tuple[int, int] | None) -> list[Cell]:
    """The runnable cells matching any of ``patterns`` (globs over the cell id, e.g.
    'hopper__*', '*__sac_ours'), then shard i of n (cells i, i + n, ... in table order)."""
    cells = table.runnable()
    if patterns:
        unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(c.id, p) for c in cells)]
        if unknown:
            raise ValueError(f"--cells {','.join(unknown)} matches no cell of {table.name}; cells: "
                             + ", ".join(c.id for c in cells))
        cells = [c for c in cells if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if shard is not None:
        i, n = shard
        cells = cells[i::n]
    return cells


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' with 0 <= i < n."""
    i, sep, n = text.partition("/")
    try:
        i, n = int(i), int(n)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard={text!r} must be i/n with 0 <= i < n, e.g. 0/4")
    return i, n


def cell_dir(out: str, cell: Cell) -> str:
    return os.path.join(out, "cells", cell.id)


def cell_status(out: str, cell: Cell) -> str:
    """'done', 'partial' (a run folder without DONE: resumed) or 'new'."""
    d = cell_dir(out, cell)
    if os.path.exists(os.path.join(d, DONE_FILE)):
        return "done"
    return "partial" if os.path.exists(os.path.join(d, "config.json")) else "new"


def config_overrides(name: str, cfg) -> list[str]:
    """``--config.KEY=VALUE`` flags that turn config ``name`` into ``cfg`` (its scaled and
    overridden cell config), for the worker process."""
    base = flatten(json.loads(get_config(name).to_json_best_effort()))
    mine = flatten(json.loads(cfg.to_json_best_effort()))
    return [f"--config.{k}={v if isinstance(v, str) else repr(v)}" for k, v in sorted(mine.items()) if base.get(k) != v]


def run_cell(out: str, cell: Cell, cfg, seeds: int, progress: bool, wandb=None) -> str:
    """Runs (or resumes) the cell in a process of its own (``python -m experiments.run``), so
    that cells share no compiled programs, caches or host threads and a crash or an
    out-of-memory in one leaves the others alone; 'done', or 'diverged' when every seed
    crashed (the cell is then finished too: its records carry each seed's last score).
    ValueError with the worker's last line when it fails."""
    d = cell_dir(out, cell)
    cmd = [sys.executable, "-m", "experiments.run", f"--config={cell.config}", *config_overrides(cell.config, cfg),
           f"--seeds={seeds}", f"--workdir={d}", "--resume"]
    if not progress:
        cmd.append("--no-progress")
    if wandb is not None:
        cmd += [f"--wandb={wandb.project}", f"--wandb-group={wandb.group}"]
        if wandb.entity:
            cmd.append(f"--wandb-entity={wandb.entity}")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE, text=True)
    if proc.returncode not in (0, 3, 4):
        tail = (proc.stderr or "").strip().splitlines()
        raise ValueError(f"the run of {cell.config} failed (exit {proc.returncode})"
                         + (f": {tail[-1]}" if tail else ""))
    status = "diverged" if proc.returncode == 3 else "done"
    with open(os.path.join(d, DONE_FILE), "w") as f:
        f.write(status + "\n")
    return status


def measure_cell_cost(cell: Cell, cfg, seeds: int, iterations: int) -> dict:
    """experiments.measure_cell's cost of the cell's program, measured in a process of its own."""
    cmd = [sys.executable, "-m", "experiments.measure_cell", f"--config={cell.config}",
           *config_overrides(cell.config, cfg), f"--seeds={seeds}", f"--iterations={iterations}"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        raise ValueError(f"measuring {cell.config} failed (exit {proc.returncode})" + (f": {tail[-1]}" if tail else ""))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def validate_all(cells: list[Cell], configs: dict) -> None:
    """ValueError naming the first cell whose config does not validate (before any compute)."""
    for cell in cells:
        try:
            validate(configs[cell.id])
        except (ValueError, ImportError) as e:
            raise ValueError(f"cell {cell.id} ({cell.config}): {e}") from None
