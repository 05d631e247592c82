"""The moments at which the kill soak SIGKILLs a training process. Each function waits, polling
the workdir, until its moment has come (or the process has exited) and describes what it chose.
"""
from __future__ import annotations

import random

from benchmarks import killable_run as kr

KINDS = ("startup", "training", "checkpoint")


def startup(child: kr.Child, rng: random.Random, startup_s: float, timeout: float) -> dict:
    """Uniformly within ``startup_s`` of the start: imports, compilation, restore, truncation."""
    delay = rng.uniform(0, startup_s)
    kr.wait_until(child, lambda: child.elapsed() >= delay, timeout)
    return {"delay_target_s": round(delay, 3)}


def training(child: kr.Child, rng: random.Random, metrics: str, metrics_id0, seeds: int,
             evals_left: int, max_evals: int, eval_gap_s: float, timeout: float) -> dict:
    """After 0 to ``max_evals`` evaluations of this process (fewer near the end, so that the run
    is still going), plus up to one evaluation interval."""
    k = rng.randint(0, max(min(max_evals, evals_left - 2), 0))
    extra = rng.uniform(0, eval_gap_s)
    # Every start rewrites metrics.jsonl (truncated to its checkpoint) before it trains: count
    # this process's evaluations from there.
    kr.wait_until(child, lambda: kr.file_id(metrics) != metrics_id0, timeout)
    rewritten_s = child.elapsed()
    base = kr.complete_lines(metrics)
    kr.wait_until(child, lambda: kr.complete_lines(metrics) >= base + k * seeds, timeout)
    end = child.elapsed() + extra
    kr.wait_until(child, lambda: child.elapsed() >= end, timeout)
    return {"after_new_evals": k, "extra_s": round(extra, 3), "metrics_rewritten_s": round(rewritten_s, 3)}


def checkpoint(child: kr.Child, rng: random.Random, ckpt_dir: str, leftovers: set[str],
               checkpoints_left: int, max_skip: int, slow_write_s: float, timeout: float) -> dict:
    """Inside the write of this process's checkpoint number 1 to ``max_skip`` + 1: as soon as its
    Orbax temporary directory shows ('data'), or while the step awaits its marker ('unmarked')."""
    skip = rng.randint(0, min(max_skip, max(checkpoints_left - 1, 0)))
    phase = rng.choice(("data", "unmarked"))
    complete0 = set(kr.complete_steps(ckpt_dir))
    completed: set[int] = set()  # accumulated: pruning keeps only the last few on disk
    gone: set[str] = set()

    def skipped():
        completed.update(set(kr.complete_steps(ckpt_dir)) - complete0)
        return len(completed) >= skip

    def writing():
        torn = kr.torn_entries(ckpt_dir)
        newest = max(kr.complete_steps(ckpt_dir), default=0)
        # A torn entry left by an earlier kill only counts once it has been removed and
        # written again by this process; older steps being pruned do not count.
        gone.update(leftovers - set(torn))
        fresh = [n for n, step in torn.items() if (n not in leftovers or n in gone) and step > newest]
        # 'data' falls back to the unmarked step if its temporary directory came and went unseen
        return bool(fresh) if phase == "data" else any(n.isdigit() for n in fresh)

    kr.wait_until(child, skipped, timeout)
    kr.wait_until(child, writing, timeout)
    extra = rng.uniform(0, 0.8 * slow_write_s) if phase == "unmarked" else 0.0
    end = child.elapsed() + extra
    kr.wait_until(child, lambda: child.elapsed() >= end, timeout)
    return {"skip_checkpoints": skip, "phase": phase, "extra_s": round(extra, 3)}
