"""Part 3 of ``benchmarks.peers``: our ``ant_sac`` against Brax's own SAC trainer on MJX Ant at
equal work, in three regimes and with 8 seeds.

Regimes (N envs stepped together, then U gradient steps of batch B per iteration):
``1x1`` (one env, one update per step), ``64x8`` (Ota et al.'s Ape-X-like ratio) and
``1024x2b8192`` (the ``TASK_sac_fast`` regime). Both sides: Brax's ``ant`` on the MJX backend,
SAC with 2x256 ReLU actor and twin critics, Adam 3e-4, replay of 1M rows (rounded down to a multiple of N), float32, one seed.
Ours is timed by ``benchmarks.throughput``'s worker (median of ``--repeats`` compiled chunks of
the regime's iterations), Brax's by its own ``training/sps`` (median of its timed epochs of the
same iterations, the compiling epoch left out); each in a fresh process. Rounds interleave the
two sides (ours, Brax, then Brax, ours) and the ratio is of the medians over rounds.

Equal work is checked, not assumed: both sides report the env's class, backend, frame skip, dt
and solver options, observation and action sizes, envs, updates, batch, replay rows and the
parameter counts of actor and critics from the objects they built; any difference stops the
benchmark with the differing fields.

Seeds: 8 seeds of ``64x8`` vmapped in one of our programs against Brax's trainer run 8 times
one after another, as its users must run seeds. Compared: the wall time of the same training
work per seed (compilation plus ``epochs + 1`` epochs of the regime's iterations on Brax's side;
compilation plus as many chunks of the same length on ours).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from benchmarks.goals import goal, ratio
from benchmarks.iteration_profile import parse_regime, regime_overrides, replay_rows
from benchmarks.json_subprocess import BenchmarkError, run_json

REPO_ROOT = Path(__file__).resolve().parent.parent
BRAX_RUNNER = REPO_ROOT / "benchmarks" / "peer_runners" / "brax_sac.py"
CONFIG = "ant_sac"
# iterations per timed chunk / epoch: a few seconds of work each on the 2-core CPU
REGIMES = {"1x1": 1000, "64x8": 200, "1024x2b8192": 10}
SEED_REGIME, NUM_SEEDS = "64x8", 8
EQUAL_WORK_FIELDS = ("env_class", "backend", "n_frames", "dt", "solver", "iterations", "ls_iterations", "obs_dim",
                     "act_dim", "num_envs", "updates_per_iteration", "batch_size", "replay_capacity",
                     "actor_params", "critic_params", "num_q")
GOAL_RATIO = 1.25


def check_equal_work(ours: dict, brax: dict) -> None:
    """Raises BenchmarkError naming every field where the two sides' work differs."""
    diff = [f"{k}: ours {ours.get(k)!r}, Brax {brax.get(k)!r}" for k in EQUAL_WORK_FIELDS
            if k not in ours or k not in brax or (ours[k] != brax[k] if k != "dt" else abs(ours[k] - brax[k]) > 1e-9)]
    if diff:
        raise BenchmarkError("the two sides' work differs (settings drifted): " + "; ".join(diff))


def run_ours(regime: str, seeds: int, iterations: int, repeats: int) -> dict:
    n, u, b = parse_regime(regime)
    cmd = [sys.executable, "-m", "benchmarks.throughput", f"--config={CONFIG}", *regime_overrides(n, u, b),
           f"--worker={seeds}", f"--iterations={iterations}", f"--repeats={repeats}"]
    t0 = time.perf_counter()
    row = run_json(cmd, f"our {CONFIG} at {regime} x {seeds} seed(s)", cwd=str(REPO_ROOT))
    return {"env_steps_per_s_per_seed": row["env_steps_per_s_per_seed"], "process_wall_s": round(time.perf_counter() - t0, 1),
            "compile_s": row["compile_s"], "chunk_s_median": row["chunk_s_median"], "settings": row["settings"], "worker": row}


def run_brax(regime: str, seeds: int, iterations: int, epochs: int) -> dict:
    n, u, b = parse_regime(regime)
    cmd = [sys.executable, str(BRAX_RUNNER), f"--num-envs={n}", f"--updates={u}", f"--batch={b}",
           f"--replay={replay_rows(n)}", f"--iterations={iterations}", f"--epochs={epochs}", f"--seeds={seeds}"]
    t0 = time.perf_counter()
    row = run_json(cmd, f"Brax's SAC trainer at {regime} x {seeds} run(s)", cwd=str(REPO_ROOT))
    row["process_wall_s"] = round(time.perf_counter() - t0, 1)
    row["env_steps_per_s_per_seed"] = row["env_steps_per_s"]
    return row


def seed_totals(ours: dict, brax: dict, n: int, iterations: int, epochs: int) -> dict:
    """Wall time of the same training work per seed: compilation plus ``epochs + 1`` epochs."""
    per_epoch = iterations * n
    brax_s = sum(sum(per_epoch / s for s in r["env_steps_per_s_all_epochs"]) for r in brax["runs"])
    ours_s = ours["compile_s"] + (epochs + 1) * ours["chunk_s_median"]
    return {"ours_s": round(ours_s, 2), "brax_s": round(brax_s, 2), "brax/ours": ratio(brax_s, ours_s),
            "brax_process_wall_s": brax["process_wall_s"], "ours_process_wall_s": ours["process_wall_s"]}


def run_part(args, report: dict, log) -> None:
    """Fills ``report['brax']`` and adds its goals; a failed run is reported in
    ``report['errors']``, a drift of settings stops the part."""
    part = {"config": CONFIG, "rounds": args.rounds, "regimes": {}}
    report["brax"] = part
    for regime in getattr(args, "brax_regimes", list(REGIMES)):
        iterations = REGIMES[regime]
        rows = {"ours": [], "brax": []}
        for index in range(args.rounds):
            order = ("ours", "brax") if index % 2 == 0 else ("brax", "ours")
            for side in order:
                log(f"[brax] {regime} round {index + 1}/{args.rounds}: {side} ...")
                try:
                    row = (run_ours(regime, 1, iterations, args.repeats) if side == "ours"
                           else run_brax(regime, 1, iterations, args.repeats))
                except BenchmarkError as e:
                    report["errors"].append(f"{regime} round {index + 1} {side}: {e}")
                    continue
                rows[side].append(row)
                log(f"      {row['env_steps_per_s_per_seed']:,.1f} env steps/s")
        if rows["ours"] and rows["brax"]:
            check_equal_work(rows["ours"][0]["settings"], rows["brax"][0]["settings"])
        med = {side: (round(statistics.median(r["env_steps_per_s_per_seed"] for r in rs), 1) if rs else None)
               for side, rs in rows.items()}
        part["regimes"][regime] = {
            "iterations": iterations, "ours_rounds": [r["env_steps_per_s_per_seed"] for r in rows["ours"]],
            "brax_rounds": [r["env_steps_per_s_per_seed"] for r in rows["brax"]],
            "ours": med["ours"], "brax": med["brax"], "ours/brax": ratio(med["ours"], med["brax"]),
            "settings": rows["ours"][0]["settings"] if rows["ours"] else None, "runs": rows,
        }
        report["goals"].append(goal(f"ant_sac {regime} >= {GOAL_RATIO}x Brax SAC per seed",
                                    part["regimes"][regime]["ours/brax"], GOAL_RATIO, "x"))
    num_seeds = getattr(args, "brax_seeds", NUM_SEEDS)
    if not num_seeds:
        return
    n, _, _ = parse_regime(SEED_REGIME)
    iterations = REGIMES[SEED_REGIME]
    log(f"[brax] {num_seeds} seeds at {SEED_REGIME}: ours vmapped, Brax {num_seeds} runs ...")
    try:
        ours = run_ours(SEED_REGIME, num_seeds, iterations, args.repeats)
        brax = run_brax(SEED_REGIME, num_seeds, iterations, args.repeats)
    except BenchmarkError as e:
        report["errors"].append(f"{num_seeds} seeds: {e}")
        return
    check_equal_work({**ours["settings"]}, brax["settings"])
    totals = seed_totals(ours, brax, n, iterations, args.repeats)
    part["seeds"] = {"num_seeds": num_seeds, "regime": SEED_REGIME, **totals, "ours": ours, "brax": brax}
    report["goals"].append(goal(f"{num_seeds} vmapped seeds ahead of Brax's {num_seeds} runs (wall time)",
                                totals["brax/ours"], 1.0, "x"))


def format_part(part: dict) -> list[str]:
    out = ["", f"Part 3: {part['config']} against Brax's SAC trainer, MJX Ant, env steps/s per seed "
               f"({part['rounds']} interleaved rounds, medians)",
           f"  {'regime':<14} {'ours':>9} {'Brax':>9} {'ours/Brax':>10}   rounds (ours | Brax)"]
    for regime, r in part["regimes"].items():
        fmt = lambda v: "-" if v is None else f"{v:,.1f}"
        out.append(f"  {regime:<14} {fmt(r['ours']):>9} {fmt(r['brax']):>9} {fmt(r['ours/brax']):>10}   "
                   f"{', '.join(fmt(v) for v in r['ours_rounds'])} | {', '.join(fmt(v) for v in r['brax_rounds'])}")
    s = part.get("seeds")
    if s:
        out.append(f"  {s['num_seeds']} seeds at {s['regime']}: ours vmapped {s['ours_s']:.1f} s, Brax's "
                   f"{s['num_seeds']} runs {s['brax_s']:.1f} s (same work per seed, compilation included): "
                   f"Brax/ours {s['brax/ours']:.2f}")
    return out
