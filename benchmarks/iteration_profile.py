"""Where a training iteration's time goes, ours against Brax's SAC trainer, op by op.

    python -m benchmarks.iteration_profile [--regimes=1x1,64x8] [--iterations=200]
        [--config=ant_sac] [--config.KEY=VALUE ...] [--out=FILE.json]

A regime ``NxU`` is N envs stepped together, then U gradient steps of batch 256 (``NxUbB`` sets
the batch). For each regime and side one fresh process compiles a chunk of ``--iterations``
iterations, runs it once, then runs it again under the JAX profiler with XLA's HLO dump on;
``benchmarks.op_profile`` joins the trace's per-instruction events with the instructions'
metadata and sums them per stage:

- ours: the named scopes of ``training/loop.py`` and ``training/learner.py`` (act, env_step,
  env_reset, replay_insert, replay_sample, update, divergence_guard, metrics);
- Brax: named scopes the runner puts around Brax's acting, replay and normaliser calls
  (``benchmarks/peer_runners/brax_sac.py --trace-dir``), and source files for the rest.

Figures are thread-milliseconds per iteration (XLA:CPU runs independent instructions on both
cores at once, so a stage's share matters more than the sum) and the wall time per iteration of
the traced execution. Work per iteration is the same on both sides (the runner's equal-work
settings are checked by ``benchmarks.peers``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import op_profile
from benchmarks.json_subprocess import run_json
from experiments.cli import config_from_args, split_overrides

REPO_ROOT = Path(__file__).resolve().parent.parent
BRAX_RUNNER = REPO_ROOT / "benchmarks" / "peer_runners" / "brax_sac.py"
OUR_RULES = (
    ("env_reset", ("env_reset",)),
    ("env_step", ("env_step",)),
    ("act", ("/act/", "/act ")),
    ("replay_insert", ("replay_insert",)),
    ("replay_sample", ("replay_sample",)),
    ("divergence_guard", ("divergence_guard",)),
    ("metrics", ("metrics",)),
    ("update", ("update",)),
)
# Brax's op names carry no source files, only scopes and Flax module names; its auto-reset is
# a select of stored first states inside the env step (no reset physics), so it counts there.
BRAX_RULES = (
    ("replay_insert", ("replay_insert",)),
    ("replay_sample", ("replay_sample",)),
    ("normalizer", ("normalizer",)),
    ("act", (("act_env", "MLP"), ("act_env", "policy"))),
    ("env_step", ("act_env",)),
    ("update", ("while/body/closed_call/while/body", "QModule", "MLP")),
)
REGIME = re.compile(r"^(\d+)x(\d+)(?:b(\d+))?$")


def parse_regime(text: str) -> tuple[int, int, int]:
    m = REGIME.match(text)
    if not m:
        raise ValueError(f"regime {text!r} is not NxU or NxUbB (e.g. 64x8, 1024x2b8192)")
    n, u, b = int(m.group(1)), int(m.group(2)), int(m.group(3) or 256)
    if min(n, u, b) < 1:
        raise ValueError(f"regime {text!r}: every number must be >= 1")
    return n, u, b


def replay_rows(n: int, rows: int = 1_000_000) -> int:
    """The replay's rows in regime N: 1M rounded down to a multiple of the N env rings."""
    return rows // n * n


def regime_overrides(n: int, u: int, b: int) -> list[str]:
    """Config overrides that make an MJX SAC config run regime N x U at batch B (cadences
    rounded to the N envs, so the config validates)."""
    every = n * max(100, -(-b // n))  # the warm-up must hold a full batch
    return [f"--config.env.num_envs={n}", f"--config.updates_per_iteration={u}", f"--config.agent.batch_size={b}",
            f"--config.replay_capacity={replay_rows(n)}", f"--config.total_env_steps={every * 1000}",
            f"--config.warmup_env_steps={every}", f"--config.log_every_env_steps={every}",
            f"--config.eval_every_env_steps={every}", f"--config.checkpoint_every_env_steps={every * 10}"]


def _ours_worker(cfg, iterations: int, trace_dir: str) -> dict:
    import jax
    import jax.numpy as jnp

    from largerl_jax.training import make_driver, validate

    validate(cfg)
    driver = make_driver(cfg, [cfg.seed])
    ts = driver.init(jnp.stack([jax.random.PRNGKey(cfg.seed)]), cfg.replay_capacity)
    compiled = driver.chunk_fn(iterations, "train").lower(ts).compile()
    ts, m = compiled(ts)
    jax.block_until_ready((ts, m))
    jax.profiler.start_trace(trace_dir)
    t0 = time.perf_counter()
    ts, m = compiled(ts)
    jax.block_until_ready((ts, m))
    wall = time.perf_counter() - t0
    jax.profiler.stop_trace()
    return {"wall_s": wall}


def _profile_side(side: str, argv_config: list[str], n: int, u: int, b: int, iterations: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        dump, trace = os.path.join(tmp, "hlo"), os.path.join(tmp, "trace")
        env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + op_profile.xla_dump_flags(dump)).strip()}
        if side == "ours":
            cmd = [sys.executable, "-m", "benchmarks.iteration_profile", *argv_config, *regime_overrides(n, u, b),
                   f"--iterations={iterations}", f"--worker-trace={trace}"]
            row = _run(cmd, env, "our profiled chunk")
            table = op_profile.op_table(trace, dump, "jit_train_chunk", OUR_RULES, per=iterations)
            wall_per_iteration = row["wall_s"] / iterations
        else:
            cmd = [sys.executable, str(BRAX_RUNNER), f"--num-envs={n}", f"--updates={u}", f"--batch={b}",
                   f"--replay={replay_rows(n)}",
                   f"--iterations={iterations}", "--epochs=2", f"--trace-dir={trace}"]
            row = _run(cmd, env, "Brax's profiled trainer")
            table = op_profile.op_table(trace, dump, "jit__fun", BRAX_RULES, per=iterations)
            wall_per_iteration = n / row["runs"][0]["env_steps_per_s_all_epochs"][2]
    return {**table, "wall_ms_per_iteration": round(wall_per_iteration * 1e3, 3)}


def _run(cmd, env, what):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO_ROOT))
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads([l for l in proc.stdout.splitlines() if l.startswith("{")][-1])


def format_table(regime: str, sides: dict) -> str:
    cats = []
    for side in sides.values():
        cats += [c for c in side["thread_ms"] if c not in cats]
    head = f"{regime}: thread-ms per iteration  " + "  ".join(f"{s:>12}" for s in sides)
    lines = [head]
    for c in cats:
        lines.append(f"  {c:<33}" + "  ".join(f"{sides[s]['thread_ms'].get(c, 0.0):>12.3f}" for s in sides))
    lines.append(f"  {'total (thread-ms)':<33}" + "  ".join(f"{sides[s]['thread_ms_total']:>12.3f}" for s in sides))
    lines.append(f"  {'wall ms per iteration':<33}" + "  ".join(f"{sides[s]['wall_ms_per_iteration']:>12.3f}" for s in sides))
    return "\n".join(lines)


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.iteration_profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="ant_sac", help="our config (an MJX SAC config)")
    p.add_argument("--regimes", default="1x1,64x8", help="comma-separated NxU or NxUbB")
    p.add_argument("--iterations", type=int, default=200, help="iterations per profiled chunk / epoch")
    p.add_argument("--sides", default="ours,brax", help="ours, brax or both")
    p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/iteration_profile.json)")
    p.add_argument("--worker-trace", default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args, cfg = config_from_args(_parser(), argv)
    if args.worker_trace:
        print(json.dumps(_ours_worker(cfg, args.iterations, args.worker_trace)))
        return 0
    try:
        regimes = [(r, parse_regime(r)) for r in args.regimes.split(",") if r]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sides = [s for s in args.sides.split(",") if s]
    if not sides or set(sides) - {"ours", "brax"}:
        print(f"error: --sides must name ours and/or brax, got {args.sides!r}", file=sys.stderr)
        return 2
    _, overrides = split_overrides(argv)
    config_argv = [f"--config={args.config}", *(f"--config.{k}={v}" for k, v in overrides)]
    report = {"command": "python -m benchmarks.iteration_profile " + " ".join(argv),
              "date": datetime.date.today().isoformat(), "iterations": args.iterations, "regimes": {}}
    for name, (n, u, b) in regimes:
        res = {side: _profile_side(side, config_argv, n, u, b, args.iterations) for side in sides}
        report["regimes"][name] = res
        print(format_table(name, res), flush=True)
    out = args.out or os.path.join("benchmarks", "results", "iteration_profile.json")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
