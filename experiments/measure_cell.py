"""The cost of one config's training program on this machine: ``python -m experiments.measure_cell
--config=NAME [--config.KEY=VALUE ...] [--seeds=S] [--iterations=N]`` prints one JSON line
{compile_s, s_per_iteration, iterations, hours, device}. experiments.reproduce --dry-run runs it
once per cell, each in a process of its own.

The seeds' vmapped train chunk of N iterations is compiled, run once to warm up and once timed,
on a replay of a few thousand rows per seed (a full-size replay of every cell would not fit a
small machine; an update's cost does not depend on the capacity). The estimate covers training
iterations only: warm-up, evaluations and checkpoints are left out. A config with a wall-clock
budget counts only the iterations that fit in it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from experiments.cli import config_from_args

REPLAY_ROWS = 4096


def measure_cost(cfg, seeds: int, iterations: int = 8, replay_rows: int = REPLAY_ROWS) -> dict:
    import jax  # noqa: PLC0415  (heavy imports after the arguments are read)
    import jax.numpy as jnp  # noqa: PLC0415

    from largerl_jax.training import make_driver, validate  # noqa: PLC0415

    validate(cfg)
    n = cfg.env.num_envs
    rows = max(replay_rows, cfg.agent.batch_size * 2, 2 * n)
    cfg.replay_capacity = min(cfg.replay_capacity, -(-rows // n) * n)
    driver = make_driver(cfg, list(range(seeds)))
    try:
        ts = driver.init(jnp.stack([jax.random.PRNGKey(s) for s in range(seeds)]), cfg.replay_capacity)
        ts, _ = driver.chunk(ts, -(-cfg.agent.batch_size // n), "warmup")
        t0 = time.perf_counter()
        ts, metrics = driver.chunk(ts, iterations, "train")
        jax.block_until_ready((ts, metrics))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        ts, metrics = driver.chunk(ts, iterations, "train")
        jax.block_until_ready((ts, metrics))
        per_iteration = (time.perf_counter() - t0) / iterations
    finally:
        driver.close()
    total = budgeted_iterations((cfg.total_env_steps - cfg.warmup_env_steps) // n, per_iteration,
                                cfg.get("wall_time_budget_s", 0.0))
    return {"compile_s": max(first - per_iteration * iterations, 0.0), "s_per_iteration": per_iteration,
            "iterations": total, "hours": per_iteration * total / 3600.0, "device": str(jax.devices()[0].device_kind)}


def budgeted_iterations(total: int, s_per_iteration: float, wall_time_budget_s: float) -> int:
    """The training iterations a run will take: all ``total``, or, under a wall-clock budget (run
    key ``wall_time_budget_s``, > 0), those that fit in it at the measured rate, since the run
    stops there (at the next evaluation; that overshoot, like evaluations, is not counted)."""
    if wall_time_budget_s > 0 and s_per_iteration > 0:
        return int(min(total, math.ceil(wall_time_budget_s / s_per_iteration)))
    return int(total)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.measure_cell", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--iterations", type=int, default=8)
    args, cfg = config_from_args(p, argv)
    if args.seeds < 1 or args.iterations < 1:
        print("error: --seeds and --iterations must be at least 1", file=sys.stderr)
        return 2
    try:
        print(json.dumps(measure_cost(cfg, args.seeds, args.iterations)))
    except (ValueError, ImportError, MemoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
