"""TensorBoard event files beside metrics.jsonl: ``RUN_DIR/tensorboard/seed_<seed>/``, one
TensorBoard run per seed, step = ``env_steps``, one scalar tag per numeric key of a record.

Every key but ``seed`` and ``env_steps`` becomes a tag of the same name (``sv/critic/0``'s
slashes group tags in TensorBoard's UI). Booleans (``diverged``) are written as 0/1 so a
divergence shows on a plot; None, strings and other non-numbers are skipped. Values are stored
as float32, TensorBoard's scalar type: integers above 2**24 lose their last digits.

metrics.jsonl stays the record of a run; these files are a view of it. ``rewrite`` makes them
agree again after a resume truncated metrics.jsonl to its checkpoint. A kill during ``rewrite``
can leave them partial; the next resume rewrites them whole.
"""
from __future__ import annotations

import glob
import numbers
import os
import time
from collections import defaultdict

import numpy as np
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

SUBDIR = "tensorboard"
_NOT_TAGS = ("seed", "env_steps")
_EVENT_FILES = "events.out.tfevents.*"


def seed_dir(run_dir: str, seed: int) -> str:
    return os.path.join(run_dir, SUBDIR, f"seed_{seed}")


def scalars(record: dict) -> dict[str, float]:
    """The record's numeric keys but seed and env_steps, as floats (booleans 0/1)."""
    out = {}
    for key, value in record.items():
        # bool is a Real; numpy's bool is not, and a record built before JSON may hold one
        if key in _NOT_TAGS or not isinstance(value, (numbers.Real, np.bool_)):
            continue
        out[key] = float(value)
    return out


def _event(record: dict) -> event_pb2.Event:
    values = [summary_pb2.Summary.Value(tag=k, simple_value=v) for k, v in scalars(record).items()]
    return event_pb2.Event(wall_time=time.time(), step=int(record["env_steps"]),
                           summary=summary_pb2.Summary(value=values))


class TensorBoardLog:
    """Writers for the seeds of one run folder, kept open from one ``add`` to the next so that a
    run writes one events file per seed rather than one per evaluation."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self._writers: dict[int, EventFileWriter] = {}

    def _writer(self, seed: int) -> EventFileWriter:
        if seed not in self._writers:
            # flush_secs is moot: add() flushes itself so that a killed run keeps its events
            self._writers[seed] = EventFileWriter(seed_dir(self.run_dir, seed), max_queue_size=1000)
        return self._writers[seed]

    def add(self, records: list[dict]) -> None:
        """Appends the scalars of ``records`` (metrics.jsonl records) and flushes them to disk."""
        touched = set()
        for r in records:
            seed = int(r["seed"])
            self._writer(seed).add_event(_event(r))
            touched.add(seed)
        for seed in touched:
            self._writers[seed].flush()

    def rewrite(self, records: list[dict]) -> None:
        """Deletes the run's event files and writes ``records`` again, so the event files hold
        exactly what metrics.jsonl holds (after truncation on resume, or on a fresh start)."""
        self.close()
        for path in glob.glob(os.path.join(self.run_dir, SUBDIR, "seed_*", _EVENT_FILES)):
            os.remove(path)
        for path in glob.glob(os.path.join(self.run_dir, SUBDIR, "seed_*")):
            try:
                os.rmdir(path)  # a seed with no record left would otherwise stay as an empty run
            except OSError:
                pass  # not empty: someone else's files, left alone
        by_seed = defaultdict(list)
        for r in records:
            by_seed[int(r["seed"])].append(r)
        # TensorBoard drops points whose step goes backwards, so each seed is written in step order
        self.add([r for seed in sorted(by_seed) for r in sorted(by_seed[seed], key=lambda r: r["env_steps"])])

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def __enter__(self) -> TensorBoardLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_scalars(run_dir: str) -> dict[int, dict[str, list[tuple[int, float]]]]:
    """Every scalar of a run's event files as ``{seed: {tag: [(step, value), ...]}}``, read with
    TensorBoard's own reader. Values come back as float32 widened to float."""
    out: dict[int, dict[str, list[tuple[int, float]]]] = {}
    for path in sorted(glob.glob(os.path.join(run_dir, SUBDIR, "seed_*"))):
        suffix = os.path.basename(path)[len("seed_"):]
        if not suffix.isdigit():
            continue
        seed = int(suffix)
        # size 0 keeps every point; the default keeps a random sample of 10,000 per tag
        acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0}).Reload()
        tags = acc.Tags()[event_accumulator.SCALARS]
        if tags:
            out[seed] = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in tags}
    return out
