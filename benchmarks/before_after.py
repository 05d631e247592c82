"""Before/after throughput of our SAC training loop: two checkouts, measured in interleaved rounds.

    python -m benchmarks.before_after --reference=DIR --candidate=DIR
        [--configs=gym_ant_sac,ant_sac] [--rounds=3] [--steps=1000] [--repeats=3]
        [--out=benchmarks/results/before_after.json]

DIR is a checkout (e.g. a ``git worktree``) of this repository. Each run is the worker of
``benchmarks.peers`` Part 1 (``benchmarks.throughput --worker=1``: one chunk of ``--steps``
iterations, the median of ``--repeats`` executions after compilation), started in a fresh
process with its working directory and ``PYTHONPATH`` at that checkout, so it imports that
checkout's ``largerl_jax`` (checked before the rounds). Each round runs, per config, the
reference then the candidate in even rounds (0-based) and the candidate first in odd ones, so
that a drift of the machine's speed favours neither. Reported: env steps/s of every run, the
median per side and config, and the ratio candidate/reference of the medians.
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
import time

from benchmarks.json_subprocess import last_json_line, output_tail

SIDES = ("reference", "candidate")
IMPORT_CHECK = ("import json, benchmarks.throughput, experiments, largerl_jax; print(json.dumps({m.__name__: "
                "m.__file__ for m in (largerl_jax, benchmarks.throughput, experiments)}))")


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.before_after", description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", required=True, help="checkout measured as 'before'")
    p.add_argument("--candidate", required=True, help="checkout measured as 'after'")
    p.add_argument("--configs", default="gym_ant_sac,ant_sac", help="comma-separated experiment names")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=1000, help="iterations per timed chunk")
    p.add_argument("--repeats", type=int, default=3, help="timed executions of the compiled chunk (median)")
    p.add_argument("--out", default=os.path.join("benchmarks", "results", "before_after.json"))
    return p


def _env(checkout: str) -> dict:
    return {**os.environ, "PYTHONPATH": checkout}


def commit(checkout: str) -> dict:
    git = lambda *a: subprocess.run(["git", "-C", checkout, *a], capture_output=True, text=True, check=True).stdout
    return {"path": checkout, "commit": git("rev-parse", "HEAD").strip(), "dirty": bool(git("status", "--porcelain").strip())}


def check_imports(checkout: str) -> dict:
    """The files that a worker started in ``checkout`` imports; raises unless all are inside it."""
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True,
                          cwd=checkout, env=_env(checkout), check=True)
    files = last_json_line(proc.stdout)
    root = os.path.realpath(checkout) + os.sep
    stray = {k: v for k, v in files.items() if not os.path.realpath(v).startswith(root)}
    if stray:
        raise SystemExit(f"a worker in {checkout} imports from elsewhere: {stray}")
    return files


def run_worker(checkout: str, config: str, steps: int, repeats: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.throughput", f"--config={config}", "--worker=1",
           f"--iterations={steps}", f"--repeats={repeats}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=checkout, env=_env(checkout))
    if proc.returncode != 0:
        raise SystemExit(f"{config} in {checkout} failed (exit {proc.returncode}):\n{output_tail(proc.stderr, 40)}")
    row = last_json_line(proc.stdout)
    return {"env_steps_per_s": row["env_steps_per_s"], "wall_s": round(time.perf_counter() - t0, 1),
            "compile_s": row["compile_s"], "chunk_s_all": row["chunk_s_all"]}


def machine() -> dict:
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    return {"platform": platform.platform(), "cpu_model": model, "cpu_count": os.cpu_count(),
            "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    dirs = {"reference": args.reference, "candidate": args.candidate}
    report = {"command": "python -m benchmarks.before_after " + " ".join(argv),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "steps": args.steps, "repeats": args.repeats,
              "checkouts": {s: {**commit(d), "imports": check_imports(d)} for s, d in dirs.items()},
              "rounds": [], "results": {}}
    for s in SIDES:
        c = report["checkouts"][s]
        print(f"{s}: {c['commit'][:10]}{' (dirty)' if c['dirty'] else ''} imports {c['imports']['largerl_jax']}", flush=True)
    for r in range(args.rounds):
        order = list(SIDES) if r % 2 == 0 else list(reversed(SIDES))
        rnd = {"round": r + 1, "order": order, "runs": {}}
        report["rounds"].append(rnd)
        for config in configs:
            for side in order:
                run = run_worker(dirs[side], config, args.steps, args.repeats)
                rnd["runs"].setdefault(config, {})[side] = run
                print(f"round {r + 1} {config:<12} {side:<9} {run['env_steps_per_s']:8.1f} env steps/s "
                      f"(chunks {run['chunk_s_all']} s, {run['wall_s']:.0f} s in all)", flush=True)
    print(f"\n{'config':<12} {'side':<9} " + " ".join(f"{'round ' + str(i + 1):>8}" for i in range(args.rounds))
          + f" {'median':>8}")
    for config in configs:
        res = {}
        for side in SIDES:
            rates = [rnd["runs"][config][side]["env_steps_per_s"] for rnd in report["rounds"]]
            res[side] = {"rounds_env_steps_per_s": rates, "median_env_steps_per_s": statistics.median(rates)}
            print(f"{config:<12} {side:<9} " + " ".join(f"{x:8.1f}" for x in rates) + f" {res[side]['median_env_steps_per_s']:8.1f}")
        res["ratio_candidate_over_reference"] = round(
            res["candidate"]["median_env_steps_per_s"] / res["reference"]["median_env_steps_per_s"], 3)
        res["ratios_by_round"] = [round(c / r, 3) for c, r in zip(res["candidate"]["rounds_env_steps_per_s"],
                                                                 res["reference"]["rounds_env_steps_per_s"])]
        res["within_5_percent"] = abs(res["ratio_candidate_over_reference"] - 1) <= 0.05
        report["results"][config] = res
        print(f"{config:<12} ratio candidate/reference of the medians {res['ratio_candidate_over_reference']:.3f} "
              f"(by round {res['ratios_by_round']}); within 5%: {res['within_5_percent']}")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
