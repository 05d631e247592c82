"""Running benchmark steps, each in its own subprocess and process group with a time limit,
within a budget for all of them, so that a failure or a hang is recorded and the remaining
steps still run."""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass
class Step:
    """One subprocess of the suite."""

    name: str  # e.g. "ant_sac@8", "collect@4096", "probe"
    kind: str  # "throughput", "collect", "probe" or "custom"
    group: str | None  # results file stem, e.g. "throughput-ant_sac"; None: no results
    size: int | None  # S or N
    argv: list[str]
    out: str | None  # JSON the step writes
    limit_s: float
    # filled in by run_step
    status: str = "pending"  # ok | failed | timeout | skipped
    returncode: int | None = None
    wall_s: float | None = None
    error: str | None = None
    info: dict | None = None  # the probe's JSON


def command_str(argv: list[str]) -> str:
    parts = ["python" if a == sys.executable else a for a in argv]
    return " ".join(parts)


def run_step(step: Step, limit_s: float, log=print) -> None:
    """Runs one step in its own process group, streaming its output with a prefix; kills the
    whole group (a benchmark's workers included) when it outruns ``limit_s``."""
    log(f"\n=== {step.name} (limit {limit_s:.0f} s): {command_str(step.argv)}", flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    tail = collections.deque(maxlen=60)
    t0 = time.perf_counter()
    proc = subprocess.Popen(step.argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)

    def pump():
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log(f"  [{step.name}] {line}", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        step.returncode = proc.wait(timeout=limit_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        step.returncode = proc.wait()
    reader.join(timeout=10)
    step.wall_s = round(time.perf_counter() - t0, 1)
    tail_text = "\n".join(tail)
    last = next((l.strip() for l in reversed(tail) if l.strip()), "no output")[:300]
    if timed_out:
        step.status, step.error = "timeout", f"killed after {limit_s:.0f} s; last line: {last}\n{tail_text[-2000:]}"
    elif step.returncode != 0:
        step.status, step.error = "failed", f"exit {step.returncode}: {last}\n{tail_text[-2000:]}"
    elif step.out is not None and not os.path.exists(step.out):
        step.status, step.error = "failed", f"exit 0 but no {os.path.basename(step.out)}\n{tail_text[-1500:]}"
    else:
        step.status = "ok"
    if step.kind == "probe" and step.status == "ok":
        try:
            step.info = json.loads(tail[-1])
        except (IndexError, ValueError):
            step.status, step.error = "failed", f"probe printed no JSON\n{tail_text[-1500:]}"
    log(f"=== {step.name}: {step.status} in {step.wall_s:.0f} s", flush=True)


def run_steps(steps: list[Step], budget_s: float, min_step_s: float, log=print) -> None:
    """Runs the steps in order, each with ``min(its own limit, what is left of budget_s)``; a
    step that would get less than ``min_step_s`` is recorded as skipped."""
    start = time.perf_counter()
    for step in steps:
        left = budget_s - (time.perf_counter() - start)
        if left < min_step_s:
            step.status = "skipped"
            step.error = f"suite budget of {budget_s:.0f} s used up ({max(left, 0):.0f} s left)"
            log(f"\n=== {step.name}: skipped ({step.error})", flush=True)
            continue
        run_step(step, min(step.limit_s, left), log=log)
