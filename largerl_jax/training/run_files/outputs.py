"""The run folders of one compiled seed-batch: a single run is one folder of S seeds; a group of
grid points sharing a program is P folders, point p owning rows p*S ... p*S+S-1 of the batch.

Every folder is a complete run folder of its own (config.json, metrics.jsonl, the same scalars
as TensorBoard event files in tensorboard/seed_<seed>/, checkpoints/ of its S rows), so the tools that read run folders (report, video, export, landscape) need not know
that the run was part of a grid. A group resumes from the newest checkpoint step that every one
of its folders completed.
"""
from __future__ import annotations

import dataclasses
import json
import os

import jax
import jax.numpy as jnp

from largerl_jax.training import devices
from largerl_jax.training.run_files import metrics_io
from largerl_jax.training.run_files import workdir as run_workdir
from largerl_jax.training.run_files.checkpoint import Checkpointer
from largerl_jax.training.run_files.tensorboard import TensorBoardLog
from largerl_jax.training.run_files.wandb_log import WandbLog, WandbSettings


@dataclasses.dataclass(frozen=True)
class Point:
    """One run of a seed-batch: ``name`` is None for a plain run, the grid point's name otherwise."""

    cfg: object
    workdir: str | None
    name: str | None = None


def config_json(cfg) -> str:
    return cfg.to_json_best_effort(indent=2, sort_keys=True)


def _placed(abstract, sharding):
    """Under jax.distributed, Orbax restores global arrays only with their sharding given."""
    if not devices.multi_process():
        return abstract
    where = sharding()
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=where), abstract)


class Outputs:
    """Folders, metrics files and checkpoints of the points of a seed-batch."""

    def __init__(self, points: list[Point], num_seeds: int, resume: bool, wandb: WandbSettings | None = None):
        self.points, self.num_seeds = points, num_seeds
        written = [p.workdir is not None for p in points]
        if any(written) and not all(written):
            raise ValueError("either every point of a seed-batch has a workdir or none has")
        self.enabled = all(written)
        if resume and not self.enabled:
            raise ValueError("--resume needs --workdir")
        # Under jax.distributed, process 0 writes the files; every process takes part in the
        # (collective) checkpoints.
        self.writes = self.enabled and devices.is_writer()
        self.ckpts: list[Checkpointer] = []
        self.metrics_paths: list[str] = []
        # views of metrics.jsonl, per point: TensorBoard event files (always equal to it) and,
        # when asked for, W&B runs
        self.boards: list[list] = []
        if self.enabled:
            for p in points:
                self.metrics_paths.append(os.path.join(p.workdir, "metrics.jsonl"))
                if self.writes:
                    # --resume on a folder the run never reached starts it (a preemptible job
                    # always passes --resume)
                    started = os.path.exists(os.path.join(p.workdir, run_workdir.CONFIG_FILE))
                    run_workdir.prepare(p.workdir, json.loads(config_json(p.cfg)), num_seeds, resume and started,
                                        p.cfg.matmul_precision)
                    self.boards.append([TensorBoardLog(p.workdir)] + ([WandbLog(p.workdir, wandb)] if wandb else []))
            devices.barrier("run folders prepared")
            self.ckpts = [Checkpointer(os.path.join(p.workdir, "checkpoints")) for p in points]

    # --- resumption ----------------------------------------------------------------------------

    def resume_step(self) -> int | None:
        """The newest step every folder completed; None when no folder has a checkpoint."""
        if not self.enabled:
            return None
        for c in self.ckpts:
            c.discard_torn()
        steps = [set(c.complete_steps()) for c in self.ckpts]
        if not any(steps):
            return None
        common = set.intersection(*steps)
        if not common:
            where = ", ".join(f"{p.name or p.workdir}: {sorted(s) or 'none'}" for p, s in zip(self.points, steps))
            raise ValueError(f"the points' checkpoints share no step, so the seed-batch cannot resume together ({where})")
        return max(common)

    def meta_at(self, step: int) -> dict | None:
        """The meta of the step the batch will resume from (a single folder: its newest
        readable one, as ``restore`` picks it)."""
        if len(self.points) == 1:
            return self.ckpts[0].latest_meta()
        return self.ckpts[0].meta_at(step)

    def restore(self, abstract_rows, step: int):
        """The batch's train state at ``step`` (one point: that folder's newest step that
        loads, falling back past damaged ones), and the meta. ``abstract_rows(p)`` is point p's
        abstract train state of S rows."""
        if len(self.points) == 1:
            return self.ckpts[0].restore(_placed(abstract_rows(0), devices.rows_sharding))
        parts = [c.restore(_placed(abstract_rows(p), devices.replicated), step=step)[0] for p, c in enumerate(self.ckpts)]
        return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts), self.ckpts[0].meta_at(step)

    # --- writing -------------------------------------------------------------------------------

    def rows(self, ts, p: int):
        """Point p's rows of the batch (the whole batch for a single point)."""
        if len(self.points) == 1:
            return ts
        s = self.num_seeds
        return jax.tree.map(lambda x: x[p * s:(p + 1) * s], ts)

    def save(self, env_steps: int, ts, meta: dict) -> None:
        for p, c in enumerate(self.ckpts):
            c.save(env_steps, self.rows(ts, p), meta)

    def start_records(self, resumed_env_steps: int | None) -> list[list[dict]]:
        """Each point's records so far: those up to the resumed checkpoint (the files are
        truncated to them), or none for a fresh start (the files are emptied)."""
        if not self.enabled:
            return [[] for _ in self.points]
        if not self.writes:  # process 0 keeps the files and reports; the others track nothing
            return [[] for _ in self.points]
        if resumed_env_steps is None:
            for path in self.metrics_paths:
                metrics_io.write(path, [])
            kept = [[] for _ in self.points]
        else:
            kept = [metrics_io.truncate_to(path, resumed_env_steps) for path in self.metrics_paths]
        for views, records in zip(self.boards, kept):
            for view in views:
                view.rewrite(records)
        return kept

    def append_records(self, p: int, records: list[dict]) -> None:
        if self.writes:
            metrics_io.append(self.metrics_paths[p], records)
            for view in self.boards[p]:
                view.add(records)

    def latest_checkpoint(self) -> int | None:
        return self.ckpts[0].latest_step() if self.enabled else None

    def describe(self) -> str:
        """The folders, for messages ('' without any)."""
        return ", ".join(p.workdir for p in self.points) if self.enabled else ""

    def checkpoint_dirs(self) -> str:
        return ", ".join(c.directory for c in self.ckpts)

    def close(self) -> None:
        for c in self.ckpts:
            c.close()
        for views in self.boards:
            for view in views:
                view.close()
