"""Side-by-side speed of largerl-jax, sbx, Stable-Baselines3 and PyTorch on this machine.

    python -m benchmarks.peers [--steps=1000] [--warmup=1000] [--rounds=3] [--updates=20]
        [--repeats=3] [--venv=DIR] [--skip-install] [--only=sac|update|brax] [--no-torch-compile]
        [--compile-timeout=600] [--brax-regimes=1x1,64x8,1024x2b8192] [--brax-seeds=8] [--out=FILE.json]

Part 1 (``benchmarks/sac_vs_peers.py``), SAC on Ant: env steps/s of one seed, one env, one
gradient step per env step, 2x256 ReLU MLP actor and twin critics, batch 256, replay of 1M,
learned temperature.

* ours, host path: config ``gym_ant_sac`` (Gymnasium Ant-v4 with contact forces, 111-dim
  observations, stepped on the host) and ours, MJX path: config ``ant_sac`` (MJX Ant stepped
  inside jit; its observations are Brax Ant's 27 dims). Each is timed by
  ``benchmarks.throughput``'s worker in a fresh process: one chunk of ``--steps`` iterations,
  the median of ``--repeats`` executions after compilation.
* sbx (SAC in JAX) and Stable-Baselines3 (PyTorch) on the same Gymnasium Ant-v4, run by
  ``benchmarks/peer_runners/sb3_sbx.py`` inside their own virtualenv: ``--warmup`` random
  steps (learning_starts), 200 untimed training steps (sbx's compilation), then ``--steps``
  timed ones.

This machine's CPU speed drifts by up to 30% between runs of the same command, so Part 1 runs
``--rounds`` rounds; each measures all four once, in an order rotated by one place per round
(none is always first). The report gives every round's figure and the median per
implementation; the ratios and goals come from the medians (the JSON also holds each round's
runs, order and ratios). ``--steps`` defaults to 1000 so that the rounds' 12 processes (each
with its own start-up and compilation) and Part 2 take about 10 minutes on the 2-core
development machine.

Part 2 (``benchmarks/update_vs_torch.py``), the main job's 2x2048 update (config
``gym_ant_sac_ours``: OFENet 8x256 DenseNet with batch norm feeding SAC v1 with 2x2048 swish
MLP-DenseNet actor, twin critics and V, batch 256, Gymnasium Ant dims 111/8): updates/s of ours
(``jit(agent.update)``, state donated) and of the same networks and update in plain PyTorch
(``benchmarks/peer_runners/torch_ofe_sac.py``, eager and, unless ``--no-torch-compile``, with
``torch.compile``), each on one fixed random batch, ``--updates`` calls timed after 2 warm-up
calls. The PyTorch parameter counts must equal ours, network by network, or the run stops.
FLOPs per update come from XLA's cost analysis of our compiled update; fraction of peak =
FLOPs x updates/s / the matmul peak that ``benchmarks.matmul.measure_peak`` measures in the
same run.

Part 3 (``benchmarks/brax_vs_ours.py``): our ``ant_sac`` against Brax's own SAC trainer on MJX Ant
at equal work (checked field by field), in the regimes 1x1, 64x8 and 1024x2 at batch 8192, in
``--rounds`` interleaved rounds of fresh processes, and 8 seeds vmapped in one of our programs
against Brax's trainer run 8 times. It runs in our own virtualenv (Brax is one of our
dependencies) and needs no peers' virtualenv.

The peers' virtualenv (``benchmarks/peer_venv.py``; default ~/.cache/largerl-jax/peers-venv)
gets torch==2.13.0 first and alone (refused if pip's plan holds any nvidia-* package), then
stable-baselines3, sbx-rl and gymnasium[mujoco]==1.4.0 under a constraint that keeps that
torch; ``pip check`` must pass. ``--skip-install`` reuses the virtualenv as it is. The goals of
the issue are printed as PASS/FAIL lines; everything is saved as JSON (default
benchmarks/results/peers.json).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

from benchmarks import brax_vs_ours, sac_vs_peers, update_vs_torch
from benchmarks.json_subprocess import BenchmarkError
from benchmarks.package_versions import package_versions
from benchmarks.peer_venv import DEFAULT_VENV, InstallError, ensure_peers_venv

OUR_VERSION_PACKAGES = ("jax", "jaxlib", "flax", "optax", "gymnasium", "mujoco", "mujoco-mjx", "brax", "numpy")
SAC_LABELS = {
    "ours_host": "ours, gym_ant_sac (Gymnasium Ant-v4, host)",
    "ours_mjx": "ours, ant_sac (MJX Ant in jit)",
    "sbx": "sbx (JAX), Gymnasium Ant-v4",
    "sb3": "Stable-Baselines3 (PyTorch), Gymnasium Ant-v4",
}


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1000, help="timed env steps per SAC run")
    p.add_argument("--warmup", type=int, default=1000, help="random-action steps before the peers' learning starts")
    p.add_argument("--rounds", type=int, default=3, help="Part 1 rounds, each measuring every implementation once")
    p.add_argument("--updates", type=int, default=20, help="timed 2x2048 updates (after 2 warm-up calls)")
    p.add_argument("--repeats", type=int, default=3, help="timed executions of our compiled SAC chunk (median)")
    p.add_argument("--venv", default=DEFAULT_VENV, help=f"the peers' virtualenv (default {DEFAULT_VENV})")
    p.add_argument("--skip-install", action="store_true", help="reuse the peers' virtualenv as it is")
    p.add_argument("--only", choices=("sac", "update", "brax"), default=None,
                   help="run Part 1 (sac), Part 2 (update) or Part 3 (brax: ours against Brax's SAC trainer) only")
    p.add_argument("--brax-regimes", default=",".join(brax_vs_ours.REGIMES),
                   help=f"Part 3's regimes, comma-separated (of {', '.join(brax_vs_ours.REGIMES)})")
    p.add_argument("--brax-seeds", type=int, default=brax_vs_ours.NUM_SEEDS,
                   help=f"Part 3's seed comparison at {brax_vs_ours.SEED_REGIME} (0: skip it)")
    p.add_argument("--no-torch-compile", action="store_true", help="skip the torch.compile variant of Part 2")
    p.add_argument("--compile-timeout", type=int, default=600, help="seconds allowed for the torch.compile run")
    p.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/peers.json)")
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("steps", "warmup", "rounds", "updates", "repeats", "compile_timeout"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    args.venv = os.path.abspath(os.path.expanduser(args.venv))
    args.brax_regimes = [r for r in args.brax_regimes.split(",") if r]
    unknown = [r for r in args.brax_regimes if r not in brax_vs_ours.REGIMES]
    if unknown or not args.brax_regimes:
        parser.error(f"--brax-regimes: unknown {unknown or 'empty list'}; known: {', '.join(brax_vs_ours.REGIMES)}")
    if args.brax_seeds < 0 or args.brax_seeds == 1:
        parser.error("--brax-seeds must be 0 (skip) or >= 2")
    return args


def _fmt(v, spec=",.1f"):
    return "-" if v is None else format(v, spec)


def _format_sac(sac: dict) -> list[str]:
    runs = sac["runs"]
    n_rounds = sac.get("num_rounds") or max(
        (len(r.get("rounds_env_steps_per_s_per_seed", ())) for r in runs.values()), default=0)
    round_heads = "".join(f" {f'round {i + 1}':>8}" for i in range(n_rounds))
    out = ["Part 1: SAC on Ant, 1 env, 1 gradient step per env step, 2x256 ReLU, batch 256, replay 1M",
           f"  env steps/s per seed in {n_rounds} round(s), each measuring all four in a rotating order",
           f"  {'run':<46} {'obs':>4}{round_heads} {'median':>8}"]
    for key, label in SAC_LABELS.items():
        row = runs.get(key) or {}
        rounds = row.get("rounds_env_steps_per_s_per_seed") or [None] * n_rounds
        out.append(f"  {label:<46} {sac_vs_peers.SAC_OBS_DIMS[key]:>4}"
                   + "".join(f" {_fmt(r):>8}" for r in rounds) + f" {_fmt(row.get('env_steps_per_s_per_seed')):>8}")
    out.append("  (ant_sac's observations are Brax Ant's 27 dims; the others see Gymnasium's 111)")
    out.append("  ratios of the medians: " + ", ".join(f"{k} {_fmt(v, '.2f')}" for k, v in sac["ratios"].items()))
    by_round = sac.get("ratios_by_round") or []
    if len(by_round) > 1:
        out.append("  within each round:     " + ", ".join(
            f"{k} {'/'.join(_fmt(r[k], '.2f') for r in by_round)}" for k in sac["ratios"]))
    return out


def _format_update(upd: dict) -> list[str]:
    out = ["", f"Part 2: one 2x2048 update of {update_vs_torch.UPDATE_CONFIG} "
                 "(OFENet + SAC v1, batch 256, obs 111, act 8)"]
    if upd.get("param_counts"):
        out.append("  parameters  " + ", ".join(
            f"{r['network']} {_fmt(r['ours'], ',')}{'' if r['equal'] else ' != ' + str(r['torch'])}"
            for r in upd["param_counts"]
        ) + ("  (PyTorch equal)" if all(r["equal"] for r in upd["param_counts"]) else ""))
    s = upd.get("summary")
    if s is None:  # stopped before timing (see Errors)
        return out
    gf = s["flops_per_update"]
    out.append(f"  FLOPs per update (XLA cost analysis): {_fmt(gf / 1e9 if gf else None, ',.1f')} GFLOP; "
               f"matmul peak {_fmt(s['peak_gflops'])} GFLOP/s")
    out.append(f"  {'implementation':<32} {'updates/s':>10} {'s/update':>9} {'of peak':>8}")
    rows = (("ours (jit, XLA)", "ours"), ("PyTorch eager", "torch_eager"), ("PyTorch torch.compile", "torch_compile"))
    for label, key in rows:
        r = s[f"{key}_updates_per_s"]
        fr = s[f"{key}_fraction_of_peak"]
        note = ""
        if key == "torch_compile" and upd.get("torch_compile_status"):
            note = "  " + upd["torch_compile_status"]
        out.append(f"  {label:<32} {_fmt(r, '.3f'):>10} {_fmt(1 / r if r else None, '.2f'):>9} "
                   f"{_fmt(fr * 100 if fr is not None else None, '.0f') + ('%' if fr is not None else ''):>8}{note}")
    out.append(f"  ratios: ours/torch_eager {_fmt(s['ours/torch_eager'], '.2f')}, "
               f"ours/torch_compile {_fmt(s['ours/torch_compile'], '.2f')}")
    return out


def format_report(report: dict) -> str:
    out = []
    if report.get("sac"):
        out += _format_sac(report["sac"])
    if report.get("update"):
        out += _format_update(report["update"])
    if report.get("brax"):
        out += brax_vs_ours.format_part(report["brax"])
    if report.get("goals"):
        out += ["", "Goals:"] + [f"  {g['status']:<4} {g['goal']}: {g['detail']}" for g in report["goals"]]
    if report.get("errors"):
        out += ["", "Errors:"] + ["  " + e.replace("\n", "\n    ") for e in report["errors"]]
    return "\n".join(out)


def machine_info() -> dict:
    model = None
    try:
        proc = subprocess.run(["lscpu"], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.strip().startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    import jax

    report = {
        "command": "python -m benchmarks.peers " + " ".join(argv),
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(),
        "versions": {"ours": {**package_versions(OUR_VERSION_PACKAGES), "jax_devices": [str(d) for d in jax.devices()]}},
        "goals": [],
        "errors": [],
    }
    if args.only != "brax":  # Part 3 runs in our own virtualenv (Brax is our dependency)
        try:
            venv_info = ensure_peers_venv(args.venv, args.skip_install, log)
        except InstallError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        report["versions"]["peers"] = venv_info["versions"]
        report["peers_venv"] = {"path": args.venv, "install_s": venv_info["install_s"],
                                "pip_check": venv_info["pip_check"]}
    try:
        if args.only in (None, "sac"):
            sac_vs_peers.run_part(args, report, log)
        if args.only in (None, "update"):
            update_vs_torch.run_part(args, report, log)
        if args.only in (None, "brax"):
            brax_vs_ours.run_part(args, report, log)
    except BenchmarkError as e:  # a parameter-count mismatch, or a step that the rest needs
        report["errors"].append(f"STOPPED: {e}")
        print(f"error: {e}", file=sys.stderr)
    print(format_report(report))
    out = args.out or os.path.join("benchmarks", "results", "peers.json")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
