"""Kill soak: SIGKILL a short training run at random moments, some inside checkpoint writes,
resume it after each kill, and check that it ends with the same metrics as an uninterrupted run.

    python -m benchmarks.kill_soak --kills=10 --out=FILE.json [--seed=0] [--env-steps=8000]

Checked, after every kill: metrics.jsonl (less a partial last line) is an exact prefix of the
uninterrupted run's records, so it never holds a duplicate or a gap; the next process resumes
from the newest complete checkpoint the kill left; every torn checkpoint is reported by name
and skipped; nothing fails to load. At the end: metrics.jsonl equals the uninterrupted run's
record for record (every field but wall_time_s, exactly), and only complete checkpoints remain.

Moments: 'startup' (uniformly within the time the last observed start took to restore and
rewrite metrics.jsonl, or the uninterrupted run's time to its first record before any start
was observed: imports, compilation, restore, truncation), 'training' (after a random number of new
evaluations, plus up to one evaluation interval) and 'checkpoint' (while a checkpoint is being
written: the Orbax data, or the data written but not yet marked complete, which the test hook
LARGERL_CKPT_SLOW_WRITE_S keeps open for a moment). Whether a kill landed inside a checkpoint
write is read afterwards from what it left on disk, not assumed from the moment's kind.

All processes share a persistent JAX compilation cache, filled by the uninterrupted run, so
that each resume costs seconds; the cached programs are the ones the reference ran.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from importlib.metadata import version

from benchmarks import kill_moments as km
from benchmarks import killable_run as kr
from largerl_jax.training.run_files.checkpoint import SLOW_WRITE_ENV

_RESUMED = re.compile(r"checkpoint: resuming from step (\d+)")
_TORN = re.compile(r"checkpoint: skipping torn step (\d+)")
_UNLOADABLE = "does not load"
_PARTIAL_LINE = "dropping a partial last line"


def _strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in records]


def _env(cache_dir: str, slow_write_s: float) -> dict:
    env = dict(os.environ)
    env.update(
        JAX_COMPILATION_CACHE_DIR=cache_dir,
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    env.pop(SLOW_WRITE_ENV, None)
    if slow_write_s > 0:
        env[SLOW_WRITE_ENV] = str(slow_write_s)
    return env


def _checkpoint_plan(env_steps: int) -> list[int]:
    every = kr.CHECKPOINT_EVERY
    return sorted({*range(every, env_steps + 1, every), env_steps})


class Soak:
    def __init__(self, root: str, kills: int, env_steps: int, seeds: int, slow_write_s: float, rng: random.Random):
        self.root, self.kills, self.seeds, self.rng = root, kills, seeds, rng
        self.config_args = kr.tiny_pendulum_args(env_steps)
        self.checkpoints = _checkpoint_plan(env_steps)
        self.cache = os.path.join(root, "jax_cache")
        self.slow_write_s = slow_write_s
        self.workdir = os.path.join(root, "soak")
        self.ckpt_dir = os.path.join(self.workdir, "checkpoints")
        self.metrics = os.path.join(self.workdir, "metrics.jsonl")
        self.children = 0
        self.problems: list[str] = []

    def _spawn(self, workdir: str, resume: bool, slow: bool) -> kr.Child:
        self.children += 1
        cmd = kr.command(self.config_args, workdir, self.seeds, resume)
        env = _env(self.cache, self.slow_write_s if slow else 0.0)
        return kr.Child(cmd, env, os.path.join(self.root, f"proc{self.children:02d}"))

    def reference(self, timeout: float) -> dict:
        """The uninterrupted run; also fills the compilation cache and times the phases."""
        path = os.path.join(self.root, "reference", "metrics.jsonl")
        child = self._spawn(os.path.dirname(path), resume=False, slow=False)
        kr.wait_until(child, lambda: kr.complete_lines(path) > 0, timeout)
        first_record_s = child.elapsed()
        if child.wait(timeout) != 0:
            raise RuntimeError(f"the uninterrupted run failed:\n{child.stderr()[-3000:]}")
        self.expected, torn_line = kr.read_metrics(path)
        if torn_line or not self.expected:
            raise RuntimeError("the uninterrupted run left no or a partial metrics.jsonl")
        walls = sorted({r["wall_time_s"] for r in self.expected})
        self.eval_gap_s = max(0.05, (walls[-1] - walls[0]) / max(len(walls) - 1, 1))
        self.startup_s = first_record_s
        # kills spread over the whole run rather than bunched at its start
        self.evals_per_kill = max(1, len(self.expected) // self.seeds // self.kills)
        return {"wall_s": round(child.elapsed(), 2), "records": len(self.expected), "first_record_s": round(first_record_s, 2)}

    def _prefix_ok(self, records: list[dict]) -> bool:
        return _strip(records) == _strip(self.expected[: len(records)])

    def _wait_for(self, child: kr.Child, moment: str, leftovers: set[str], metrics_id0, timeout: float) -> dict:
        if moment == "startup":
            return km.startup(child, self.rng, self.startup_s, timeout)
        if moment == "training":
            evals_left = (len(self.expected) - kr.complete_lines(self.metrics)) // self.seeds  # or more
            how = km.training(
                child, self.rng, self.metrics, metrics_id0, self.seeds, evals_left, 2 * self.evals_per_kill,
                self.eval_gap_s, timeout,
            )
            self.startup_s = how["metrics_rewritten_s"]  # a warm start is much shorter than the first
            return how
        done = kr.complete_steps(self.ckpt_dir)
        left = len([s for s in self.checkpoints if s > (done[-1] if done else 0)])
        max_skip = max(1, 2 * len(self.checkpoints) // self.kills)
        return km.checkpoint(child, self.rng, self.ckpt_dir, leftovers, left, max_skip, self.slow_write_s, timeout)

    def kill(self, index: int, moment: str, timeout: float) -> dict:
        entries0 = kr.checkpoint_entries(self.ckpt_dir)
        metrics_id0 = kr.file_id(self.metrics)
        child = self._spawn(self.workdir, resume=True, slow=True)
        how = self._wait_for(child, moment, set(kr.torn_entries(self.ckpt_dir)), metrics_id0, timeout)
        finished = not child.running()
        at = child.kill()
        records, partial_line = kr.read_metrics(self.metrics)
        torn = kr.torn_entries(self.ckpt_dir)
        entries = kr.checkpoint_entries(self.ckpt_dir)
        # torn entries this process created or was changing, as opposed to leftovers of earlier kills
        own = sorted(n for n in torn if entries0.get(n) != entries.get(n))
        complete = kr.complete_steps(self.ckpt_dir)
        prefix_ok = self._prefix_ok(records)
        if finished:
            rc = child.proc.returncode
            why = "make it longer" if rc == 0 else f"exit {rc}: {child.stderr()[-1500:]}"
            self.problems.append(f"kill {index}: the run ended before the kill ({why})")
        if not prefix_ok:
            self.problems.append(f"kill {index}: metrics.jsonl is not a prefix of the uninterrupted run's")
        return {
            "kill": index,
            "moment": moment,
            **how,
            "at_s": round(at, 3),
            "killed": not finished,
            "records_at_kill": len(records),
            "metrics_partial_last_line": partial_line,
            "metrics_prefix_ok": prefix_ok,
            "during_checkpoint_write": bool(own),
            "torn_by_this_kill": own,
            "torn_left": sorted(torn),
            "complete_checkpoints_left": complete,
            "expected_resume_from": complete[-1] if complete else None,
            "_restored": kr.file_id(self.metrics) != metrics_id0,  # it got past restore to the rewrite
            "_stderr": child.stderr(),
            "_torn_steps": sorted(set(torn.values())),
        }

    def finish(self, timeout: float) -> tuple[int, str]:
        child = self._spawn(self.workdir, resume=True, slow=True)
        rc = child.wait(timeout)
        return rc, child.stderr()


def _check_resumes(soak: Soak, kills: list[dict], final_err: str) -> None:
    """Matches each kill with what the following processes said: where the next one resumed
    from, and that every torn checkpoint left was reported by name when it was skipped."""
    errs = [k.pop("_stderr") for k in kills] + [final_err]
    restored = [k.pop("_restored") for k in kills] + [True]
    if any(_UNLOADABLE in e for e in errs):
        soak.problems.append("a complete checkpoint failed to load")
    for i, kill in enumerate(kills):
        resumed = [int(s) for s in _RESUMED.findall(errs[i + 1])]
        kill["resumed_from"] = resumed[0] if resumed else None
        expected = kill["expected_resume_from"]
        if resumed and resumed[0] != expected:
            soak.problems.append(f"kill {kill['kill']}: resumed from {resumed[0]}, newest complete was {expected}")
        if expected is not None and not resumed and restored[i + 1]:
            soak.problems.append(f"kill {kill['kill']}: the next process went on without resuming from {expected}")
        if kill["metrics_partial_last_line"] and not any(_PARTIAL_LINE in e for e in errs[i + 1 :]):
            soak.problems.append(f"kill {kill['kill']}: the partial metrics line it left was never reported")
        reported = {int(s) for e in errs[i + 1 :] for s in _TORN.findall(e)}
        missing = [s for s in kill.pop("_torn_steps") if s not in reported]
        kill["torn_reported"] = not missing
        if missing:
            soak.problems.append(f"kill {kill['kill']}: torn checkpoint(s) {missing} never reported")


def run_soak(root: str, kills: int, seed: int = 0, env_steps: int = 8000, seeds: int = 2,
             moments: list[str] | None = None, slow_write_s: float = 0.1, timeout: float = 300.0) -> dict:
    """The whole soak in ``root``; returns its report (``verdict`` is 'pass' or 'fail')."""
    rng = random.Random(seed)
    if not moments:
        # a third of the kills aim at checkpoint writes, the rest at any of the three kinds
        moments = ["checkpoint"] * max(1, kills // 3)
        moments += [rng.choice(km.KINDS) for _ in range(kills - len(moments))]
        rng.shuffle(moments)
    if len(moments) != kills or any(m not in km.KINDS for m in moments):
        raise ValueError(f"need {kills} moments out of {km.KINDS}, got {moments}")
    soak = Soak(root, kills, env_steps, seeds, slow_write_s, rng)
    t0 = time.monotonic()
    reference = soak.reference(timeout)
    log = [soak.kill(i + 1, m, timeout) for i, m in enumerate(moments)]
    rc, final_err = soak.finish(timeout)
    _check_resumes(soak, log, final_err)
    records, partial_line = kr.read_metrics(soak.metrics)
    equal = _strip(records) == _strip(soak.expected) and not partial_line
    if rc != 0:
        soak.problems.append(f"the final resume exited with {rc}: {final_err[-2000:]}")
    if not equal:
        soak.problems.append("final metrics.jsonl differs from the uninterrupted run's")
    left_torn = kr.torn_entries(soak.ckpt_dir)
    if left_torn:
        soak.problems.append(f"torn checkpoints remain at the end: {sorted(left_torn)}")
    keys = [(r["seed"], r["env_steps"]) for r in records]
    return {
        "child_command": " ".join(["python", *kr.command(soak.config_args, "DIR", seeds, resume=True)[1:]]),
        "slow_write_s": slow_write_s,
        "seed": seed,
        "kills": kills,
        "kills_during_checkpoint_write": sum(k["during_checkpoint_write"] for k in log),
        "reference": reference,
        "log": log,
        "final": {
            "records": len(records),
            "expected_records": len(soak.expected),
            "duplicates": len(keys) - len(set(keys)),
            "missing": len(set((r["seed"], r["env_steps"]) for r in soak.expected) - set(keys)),
            "equal_to_uninterrupted": equal,
            "complete_checkpoints": kr.complete_steps(soak.ckpt_dir),
        },
        "problems": soak.problems,
        "verdict": "pass" if not soak.problems else "fail",
        "wall_s": round(time.monotonic() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.kill_soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--out", default=None, help="JSON report path (also printed)")
    p.add_argument("--seed", type=int, default=0, help="seeds the choice of moments")
    p.add_argument("--env-steps", type=int, default=8000, help="length of the run (pendulum env steps)")
    p.add_argument("--workdir", default=None, help="keep the runs here (default: a temporary directory)")
    args = p.parse_args(argv)
    root = args.workdir or tempfile.mkdtemp(prefix="kill_soak-")
    os.makedirs(root, exist_ok=True)
    try:
        report = run_soak(root, args.kills, seed=args.seed, env_steps=args.env_steps)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    report["soak_command"] = " ".join(["python -m benchmarks.kill_soak", *(argv if argv is not None else sys.argv[1:])])
    report["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "jax": version("jax"),
        "orbax-checkpoint": version("orbax-checkpoint"),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0 if report["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
