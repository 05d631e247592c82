"""Part 1 of ``benchmarks.peers``: SAC on Ant, env steps/s per seed of ours (host and MJX
paths), sbx and Stable-Baselines3, measured in interleaved rounds.

This machine's speed drifts by up to 30% between runs of the same command, so one measurement
per implementation cannot carry a ratio. Each round measures every implementation once, in an
order rotated by one place per round so that none is always first; the ratios and goals are
taken from each implementation's median over the rounds.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.goals import goal, ratio
from benchmarks.json_subprocess import BenchmarkError, run_json
from benchmarks.peer_venv import venv_python

RUNNERS = Path(__file__).resolve().parent / "peer_runners"
REPO_ROOT = Path(__file__).resolve().parent.parent
SAC_CONFIGS = {"ours_host": "gym_ant_sac", "ours_mjx": "ant_sac"}
PEER_LIBS = ("sbx", "sb3")
IMPLEMENTATIONS = (*SAC_CONFIGS, *PEER_LIBS)
# Observation sizes of the Part 1 runs: MJX Ant is Brax's 27-dim Ant, the rest Gymnasium's.
SAC_OBS_DIMS = {"ours_host": 111, "ours_mjx": 27, "sbx": 111, "sb3": 111}
UNTIMED_PEER_STEPS = 200


def run_ours_sac(config: str, steps: int, repeats: int) -> dict:
    cmd = [
        sys.executable, "-m", "benchmarks.throughput", f"--config={config}", "--worker=1",
        f"--iterations={steps}", f"--repeats={repeats}",
    ]
    row = run_json(cmd, f"our {config} benchmark", cwd=str(REPO_ROOT))
    return {
        "config": config,
        "env_steps_per_s_per_seed": row["env_steps_per_s_per_seed"],
        "timed_env_steps": steps,
        "repeats": repeats,
        "worker": row,
    }


def run_peer_sac(venv: str, lib: str, steps: int, warmup: int, untimed: int = UNTIMED_PEER_STEPS) -> dict:
    cmd = [
        venv_python(venv), str(RUNNERS / "sb3_sbx.py"), f"--lib={lib}", f"--steps={steps}",
        f"--warmup={warmup}", f"--untimed={untimed}",
    ]
    # A neutral working directory, so nothing of this repository shadows the peers' imports.
    with tempfile.TemporaryDirectory() as tmp:
        row = run_json(cmd, f"{lib} SAC run", cwd=tmp)
    return {"env_steps_per_s_per_seed": row["env_steps_per_s"], **row}


def round_order(index: int) -> list[str]:
    """The implementations in the order of round ``index`` (0-based): rotated by one place a
    round, so that a drift of the machine's speed within a round does not always favour the
    same one."""
    k = index % len(IMPLEMENTATIONS)
    return list(IMPLEMENTATIONS[k:] + IMPLEMENTATIONS[:k])


def median_runs(rounds: list[dict]) -> dict:
    """Per implementation measured at least once: the median env steps/s per seed over the
    rounds and every round's figure (None where that round's run failed)."""
    runs = {}
    for key in IMPLEMENTATIONS:
        rates = [(rnd["runs"].get(key) or {}).get("env_steps_per_s_per_seed") for rnd in rounds]
        measured = [r for r in rates if r is not None]
        if measured:
            runs[key] = {"env_steps_per_s_per_seed": round(statistics.median(measured), 2),
                         "rounds_env_steps_per_s_per_seed": rates}
    return runs


def sac_ratios(runs: dict) -> dict:
    """Ratios of env steps/s per seed; None where a side was not measured."""
    rate = lambda k: (runs.get(k) or {}).get("env_steps_per_s_per_seed")
    return {
        "ours_host/sbx": ratio(rate("ours_host"), rate("sbx")),
        "ours_host/sb3": ratio(rate("ours_host"), rate("sb3")),
        "ours_mjx/sb3": ratio(rate("ours_mjx"), rate("sb3")),
        "ours_mjx/sbx": ratio(rate("ours_mjx"), rate("sbx")),
    }


def sac_goals(ratios: dict) -> list[dict]:
    return [
        goal("gym_ant_sac >= sbx", ratios.get("ours_host/sbx"), 1.0, "x"),
        goal("gym_ant_sac >= 2x SB3", ratios.get("ours_host/sb3"), 2.0, "x"),
        goal("ant_sac (MJX) >= 2.5x SB3", ratios.get("ours_mjx/sb3"), 2.5, "x"),
    ]


def _measure(key: str, args) -> dict:
    if key in SAC_CONFIGS:
        return run_ours_sac(SAC_CONFIGS[key], args.steps, args.repeats)
    return run_peer_sac(args.venv, key, args.steps, args.warmup)


def _describe(key: str, args) -> str:
    if key in SAC_CONFIGS:
        return f"ours {SAC_CONFIGS[key]}: {args.steps} steps x {args.repeats} repeats"
    return f"{key}: {args.warmup} warm-up + {UNTIMED_PEER_STEPS} untimed + {args.steps} timed steps"


def run_part(args, report: dict, log) -> None:
    """Measures ``args.rounds`` rounds into ``report['sac']``; a failed run is reported in
    ``report['errors']`` and the rounds go on."""
    runs, rounds = {}, []
    report["sac"] = {"runs": runs, "steps": args.steps, "warmup": args.warmup,
                     "peer_untimed_training_steps": UNTIMED_PEER_STEPS, "ours_repeats": args.repeats,
                     "num_rounds": args.rounds, "obs_dims": SAC_OBS_DIMS,
                     "note": "ant_sac (MJX) observes Brax Ant's 27 dims; the others Gymnasium Ant-v4's 111",
                     "rounds": rounds}
    for index in range(args.rounds):
        order = round_order(index)
        measured = {}
        rounds.append({"round": index + 1, "order": order, "runs": measured})
        log(f"[sac] round {index + 1}/{args.rounds}: {', '.join(order)}")
        for key in order:
            log(f"[sac] {_describe(key, args)} ...")
            t0 = time.perf_counter()
            try:
                measured[key] = _measure(key, args)
            except BenchmarkError as e:
                report["errors"].append(f"round {index + 1}: {e}")
                continue
            measured[key]["wall_s"] = round(time.perf_counter() - t0, 1)
            log(f"      {measured[key]['env_steps_per_s_per_seed']:,.1f} env steps/s per seed "
                f"({measured[key]['wall_s']:.0f} s in all)")
    runs.update(median_runs(rounds))
    report["sac"]["ratios"] = sac_ratios(runs)
    report["sac"]["ratios_by_round"] = [sac_ratios(rnd["runs"]) for rnd in rounds]
    report["goals"] += sac_goals(report["sac"]["ratios"])
