"""Ours against an sbx 0.28 agent set to the same work, on Gymnasium HalfCheetah-v4 and Ant-v4 with
one env: env steps/s of one seed measured in interleaved rounds, and optionally the evaluation
return of each after a short budget. The methods' commands (``benchmarks.simba_vs_sbx``,
``benchmarks.crossq_vs_sbx``) declare a ``Method``; this module runs it.

Ours is timed by ``benchmarks.throughput`` (one seed, a compiled chunk of ``--steps``
iterations, median of 3 executions) on ``gym_<task>_<method>`` with the method's overrides; sbx
by its ``learn()`` over ``--steps`` env steps after ``--warmup`` random steps and 50 untimed
training steps (its compilation), in the method's runner (``benchmarks/peer_runners/``, which
lists what was set to ours and what stays sbx's). Each round measures every (implementation,
task) once, in an order rotated by one place per round; the ratios are of the medians over
rounds, per task.

``--returns-steps=N`` (N > warm-up) also trains one seed of each for N env steps and evaluates
it deterministically over ``--eval-episodes`` episodes (ours: ``experiments.run``; sbx: the
runner's evaluation). One seed per side: a smoke check that both learn on the same budget, not a
comparison of their returns.

Exit codes: 0 written (goals may fail: see the report), 2 bad input, 1 a measurement failed.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.goals import goal, ratio
from benchmarks.json_subprocess import BenchmarkError, run_json
from benchmarks.peer_venv import DEFAULT_VENV, ensure_peers_venv, venv_python
from benchmarks.report_io import write_report

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNNERS = Path(__file__).resolve().parent / "peer_runners"
GYM_NAMES = {"halfcheetah": "HalfCheetah-v4", "ant": "Ant-v4"}
SIDES = ("ours", "sbx")
SBX_UNTIMED = 50
GOAL_RATIO = 1.5  # issues 20 and 21: ours at least 1.5x sbx's env steps/s per seed on the same work


@dataclass(frozen=True)
class Method:
    name: str  # our configs are gym_<task>_<name>
    module: str  # its command, python -m <module>
    doc: str  # its command's docstring (the --help text)
    runner: str  # file name under benchmarks/peer_runners/
    sbx_label: str  # e.g. "sbx SimbaPolicy"
    default_out: str
    overrides: tuple[str, ...] = ()  # --config.* overrides of ours for the same work as sbx
    default_warmup: int = 5000

    @property
    def runner_path(self) -> Path:
        return RUNNERS / self.runner

    def config_name(self, task: str) -> str:
        return f"gym_{task}_{self.name}"


def _parser(method: Method):
    p = argparse.ArgumentParser(prog=f"python -m {method.module}", description=method.doc.split("\n\n")[0])
    p.add_argument("--tasks", default="halfcheetah,ant", help=f"comma-separated, of {', '.join(GYM_NAMES)}")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=200, help="timed env steps per measurement")
    p.add_argument("--warmup", type=int, default=method.default_warmup,
                   help="sbx's random steps before learning (our config's)")
    p.add_argument("--returns-steps", type=int, default=0, help="also train each for N env steps and evaluate (0: no)")
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--venv", default=DEFAULT_VENV, help="the peers' virtualenv (made if missing)")
    p.add_argument("--skip-install", action="store_true", help="reuse the peers' virtualenv as it is")
    p.add_argument("--out", default=method.default_out)
    return p


def check_args(args) -> list[str]:
    """The tasks; ValueError for bad input."""
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in GYM_NAMES]
    if not tasks or unknown:
        raise ValueError(f"--tasks {args.tasks!r}: each must be one of {', '.join(GYM_NAMES)}")
    if args.rounds < 1 or args.steps < 1:
        raise ValueError("--rounds and --steps must be at least 1")
    if args.warmup < 256:
        raise ValueError("--warmup must be at least 256 (a batch)")
    if args.returns_steps and args.returns_steps <= args.warmup:
        raise ValueError(f"--returns-steps must exceed --warmup ({args.warmup}) or be 0")
    if args.eval_episodes < 1:
        raise ValueError("--eval-episodes must be at least 1")
    return tasks


def measure_ours(method: Method, task: str, steps: int) -> dict:
    name = method.config_name(task)
    cmd = [sys.executable, "-m", "benchmarks.throughput", f"--config={name}", *method.overrides, "--worker=1",
           f"--iterations={steps}", "--repeats=3"]
    row = run_json(cmd, f"our {name} benchmark", cwd=str(REPO_ROOT))
    return {"config": name, "overrides": list(method.overrides), "env_steps_per_s_per_seed": row["env_steps_per_s_per_seed"],
            "worker": row}


def measure_sbx(method: Method, venv: str, task: str, steps: int, warmup: int, eval_episodes: int = 0) -> dict:
    cmd = [venv_python(venv), str(method.runner_path), f"--env={GYM_NAMES[task]}", f"--steps={steps}",
           f"--warmup={warmup}", f"--untimed={SBX_UNTIMED}", f"--eval-episodes={eval_episodes}"]
    with tempfile.TemporaryDirectory() as tmp:  # nothing of this repository shadows the peers' imports
        row = run_json(cmd, f"{method.sbx_label} on {GYM_NAMES[task]}", cwd=tmp)
    return {"env_steps_per_s_per_seed": row["env_steps_per_s"], **row}


def round_order(index: int, tasks: list[str]) -> list[tuple[str, str]]:
    """Every (side, task) once, rotated by ``index`` places."""
    pairs = [(side, task) for task in tasks for side in SIDES]
    k = index % len(pairs)
    return pairs[k:] + pairs[:k]


def medians(rounds: list[dict], tasks: list[str]) -> dict:
    out = {}
    for task in tasks:
        for side in SIDES:
            rates = [rnd["runs"].get(f"{side}/{task}", {}).get("env_steps_per_s_per_seed") for rnd in rounds]
            measured = [r for r in rates if r is not None]
            if measured:
                out[f"{side}/{task}"] = {"env_steps_per_s_per_seed": round(statistics.median(measured), 2),
                                         "rounds": rates}
    return out


def our_returns(method: Method, task: str, steps: int, warmup: int, episodes: int, workdir: str) -> dict:
    """One seed of our config for ``steps`` env steps, evaluated at the end."""
    name = method.config_name(task)
    cmd = [sys.executable, "-m", "experiments.run", f"--config={name}", *method.overrides, "--seeds=1",
           f"--workdir={workdir}",
           "--no-progress", f"--config.total_env_steps={steps}", f"--config.warmup_env_steps={warmup}",
           f"--config.eval_every_env_steps={steps}", f"--config.log_every_env_steps={steps}",
           "--config.checkpoint_every_env_steps=0", f"--config.replay_capacity={steps}",
           f"--config.env.eval_episodes={episodes}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO_ROOT), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchmarkError(f"our run of {name} failed (exit {proc.returncode}): "
                             + (proc.stderr.strip().splitlines() or [""])[-1])
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        last = [json.loads(line) for line in f if '"eval_return"' in line][-1]
    return {"env_steps": last["env_steps"], "eval_return": last["eval_return"], "wall_s": round(time.perf_counter() - t0, 1)}


def main(method: Method, argv: list[str] | None = None) -> int:
    args = _parser(method).parse_args(argv)
    try:
        tasks = check_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    venv = os.path.expanduser(args.venv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    report = {"date": datetime.date.today().isoformat(), "machine": platform.node(), "cpu_count": os.cpu_count(),
              "command": f"python -m {method.module} " + " ".join(argv if argv is not None else sys.argv[1:]),
              "ours_overrides": list(method.overrides),
              "tasks": tasks, "steps": args.steps, "warmup": args.warmup, "sbx_untimed_training_steps": SBX_UNTIMED,
              "rounds": [], "errors": [], "goals": []}
    try:
        report["peers_venv"] = ensure_peers_venv(venv, args.skip_install, log)
    except BenchmarkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for index in range(args.rounds):
        measured = {}
        report["rounds"].append({"round": index + 1, "runs": measured})
        for side, task in round_order(index, tasks):
            log(f"[round {index + 1}/{args.rounds}] {side} {task} ...")
            try:
                row = (measure_ours(method, task, args.steps) if side == "ours"
                       else measure_sbx(method, venv, task, args.steps, args.warmup))
            except BenchmarkError as e:
                report["errors"].append(f"round {index + 1} {side} {task}: {e}")
                continue
            measured[f"{side}/{task}"] = row
            log(f"      {row['env_steps_per_s_per_seed']:,.2f} env steps/s per seed")
    report["medians"] = medians(report["rounds"], tasks)
    for task in tasks:
        rate = lambda side: (report["medians"].get(f"{side}/{task}") or {}).get("env_steps_per_s_per_seed")  # noqa: E731
        report["goals"].append(goal(f"{method.config_name(task)} >= {GOAL_RATIO}x {method.sbx_label}",
                                    ratio(rate("ours"), rate("sbx")), GOAL_RATIO, "x"))
    if args.returns_steps:
        report["returns"] = {}
        for task in tasks:
            log(f"[returns] {task}: {args.returns_steps} env steps each ...")
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    ours = our_returns(method, task, args.returns_steps, args.warmup, args.eval_episodes,
                                       os.path.join(tmp, "run"))
                sbx = measure_sbx(method, venv, task, args.returns_steps - args.warmup - SBX_UNTIMED, args.warmup,
                                  args.eval_episodes)
            except BenchmarkError as e:
                report["errors"].append(f"returns {task}: {e}")
                continue
            report["returns"][task] = {"ours": ours, "sbx": {k: sbx[k] for k in ("total_timesteps", "eval_return",
                                                                                  "eval_returns", "learn_s")}}
    write_report(report, args.out)
    for g in report["goals"]:
        print(f"{g['status']:<5} {g['goal']}: {g['detail'] if g['value'] is not None else 'not measured'}")
    return 1 if report["errors"] else 0

