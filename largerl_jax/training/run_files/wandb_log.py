"""Weights & Biases, optional (``pip install "largerl-jax[wandb]"``): the scalars TensorBoard
gets (run_files.tensorboard: every numeric key of a record, step = env_steps), one W&B run per
seed, grouped by run folder (a grid by its grid, a reproduced table by its table), with the run's
config and provenance attached.

A W&B run's id derives from the run folder's absolute path and the seed, so a resumed run
continues its W&B runs (``resume="allow"``). W&B keeps what it received before an interruption
and takes only steps past its last one, so after a resume the evaluations between the
checkpoint and the kill are not sent again (metrics.jsonl, truncated to the checkpoint, is the
record; W&B is a view of it, like TensorBoard). Offline (``WANDB_MODE=offline``) everything goes
to ``WANDB_DIR`` for a later ``wandb sync``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from typing import Callable

from largerl_jax.training.run_files.tensorboard import scalars


@dataclasses.dataclass(frozen=True)
class WandbSettings:
    project: str
    group: str | None = None  # None: the run folder's name
    entity: str | None = None


def run_id(run_dir: str, seed: int) -> str:
    """Stable across processes and resumes: the folder's name and a hash of its absolute path."""
    path = os.path.abspath(run_dir)
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", os.path.basename(path.rstrip("/")))[:40]
    return f"{name}-{hashlib.sha1(path.encode()).hexdigest()[:10]}-s{seed}"


def _default_init():
    import wandb  # noqa: PLC0415  (optional dependency, imported only when W&B is asked for)

    return wandb.init


def check_available() -> None:
    """ImportError (one line) when the [wandb] extra is missing: before any compute."""
    try:
        import wandb  # noqa: F401, PLC0415
    except ImportError:
        raise ImportError('--wandb needs the wandb package: pip install "largerl-jax[wandb]"') from None


class WandbLog:
    """The W&B runs of one run folder's seeds, opened on first use, finished by ``close``."""

    def __init__(self, run_dir: str, settings: WandbSettings, init: Callable | None = None):
        self.run_dir, self.settings = run_dir, settings
        self._init = init
        self._runs: dict[int, object] = {}
        self._last_step: dict[int, int] = {}

    def _config(self) -> dict:
        out = {}
        for name, key in (("config.json", "config"), ("provenance.json", "provenance")):
            path = os.path.join(self.run_dir, name)
            if os.path.exists(path):
                with open(path) as f:
                    out[key] = json.load(f)
        return out

    def _run(self, seed: int):
        if seed not in self._runs:
            init = self._init or _default_init()
            folder = os.path.basename(os.path.abspath(self.run_dir).rstrip("/"))
            run = init(project=self.settings.project, entity=self.settings.entity,
                       group=self.settings.group or folder, name=f"{folder}/seed_{seed}",
                       id=run_id(self.run_dir, seed), resume="allow", config=self._config(),
                       dir=self.run_dir if not os.environ.get("WANDB_DIR") else None, reinit="create_new")
            self._runs[seed] = run
            # a resumed W&B run reports where it got to; a fresh one starts at 0
            self._last_step[seed] = int(getattr(run, "step", 0) or 0) - 1
        return self._runs[seed]

    def add(self, records: list[dict]) -> None:
        for r in records:
            seed, step = int(r["seed"]), int(r["env_steps"])
            run = self._run(seed)
            if step > self._last_step[seed]:
                run.log(scalars(r), step=step)
                self._last_step[seed] = step

    def rewrite(self, records: list[dict]) -> None:
        """At a (re)start: the records kept so far, those past what W&B already holds."""
        self.add(records)

    def close(self) -> None:
        for run in self._runs.values():
            run.finish()
        self._runs.clear()
