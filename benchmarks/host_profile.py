"""Where a host-env (Gymnasium) training step's time goes: the act call and its transfer to the
host, the host simulators' steps, the store-and-learn call, and the Python around them.

``python -m benchmarks.host_profile [--config=gym_ant_sac] [--iterations=500] [--repeats=3]``

The host loop's two compiled programs and its envs' ``step`` are wrapped with timers that wait
for each result (``block_until_ready``), so each stage's time is its own; the loop normally lets
the store-and-learn call run while Python prepares the next step, so a blocked chunk is a little
slower than an unblocked one, which is timed too (interleaved with the blocked one, median of
repeats). Prints and writes JSON (``--out``, default ``benchmarks/results/host_profile-CONFIG.json``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time

from benchmarks.matmul import machine_info
from benchmarks.report_io import write_report
from experiments.cli import config_from_args


class _Timed:
    """Calls ``fn`` and adds its wall time, the result waited for, to ``totals[name]``."""

    def __init__(self, fn, name: str, totals: dict, block):
        self._fn, self._name, self._totals, self._block = fn, name, totals, block
        self.enabled = False

    def __call__(self, *args, **kwargs):
        if not self.enabled:
            return self._fn(*args, **kwargs)
        t0 = time.perf_counter()
        out = self._block(self._fn(*args, **kwargs))
        self._totals[self._name] = self._totals.get(self._name, 0.0) + time.perf_counter() - t0
        return out

    def __getattr__(self, item):  # .lower etc. of a jitted function
        return getattr(self._fn, item)


def profile(cfg, iterations: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    from largerl_jax.training import make_driver, validate

    validate(cfg)
    driver = make_driver(cfg, [cfg.seed])
    if not hasattr(driver, "envs"):
        raise SystemExit(f"config {cfg.name!r} runs on-device envs; profile it with benchmarks.iteration_profile")
    ts = driver.init(jnp.stack([jax.random.PRNGKey(cfg.seed)]), cfg.replay_capacity)
    totals: dict[str, float] = {}
    wrappers = []
    for table, name in ((driver._act, "act"), (driver._learn, "store_and_learn")):
        for k in list(table):
            table[k] = _Timed(table[k], name, totals, jax.block_until_ready)
            wrappers.append(table[k])
    for env in driver.envs:
        env.step = _Timed(env.step, "env_step", totals, lambda out: out)
        wrappers.append(env.step)

    def chunk(timed: bool) -> float:
        nonlocal ts
        for w in wrappers:
            w.enabled = timed
        t0 = time.perf_counter()
        ts, metrics = driver.chunk(ts, iterations, "train")
        jax.block_until_ready((ts, metrics))
        return time.perf_counter() - t0

    chunk(False)  # compiles
    chunk(True)
    totals.clear()
    blocked, free = [], []
    for _ in range(repeats):
        blocked.append(chunk(True))
        free.append(chunk(False))
    driver.close()
    per_step = lambda s: 1e3 * s / (repeats * iterations)
    stages = {k: round(per_step(v), 4) for k, v in sorted(totals.items())}
    stages["python_rest"] = round(1e3 * sum(blocked) / (repeats * iterations) - sum(stages.values()), 4)
    return {
        "config": cfg.name,
        "iterations": iterations,
        "repeats": repeats,
        "ms_per_env_step_blocked": stages,
        "blocked_chunk_ms_per_step_median": round(1e3 * statistics.median(blocked) / iterations, 4),
        "unblocked_chunk_ms_per_step_median": round(1e3 * statistics.median(free) / iterations, 4),
        "unblocked_env_steps_per_s": round(iterations * cfg.env.num_envs / statistics.median(free), 1),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks.host_profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="gym_ant_sac")
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    args, cfg = config_from_args(p, argv)
    report = {"command": "python -m benchmarks.host_profile " + " ".join(argv),
              "date": datetime.date.today().isoformat(), "machine": machine_info(),
              **profile(cfg, args.iterations, args.repeats)}
    print(json.dumps(report["ms_per_env_step_blocked"]))
    print(f"unblocked: {report['unblocked_chunk_ms_per_step_median']} ms/step "
          f"({report['unblocked_env_steps_per_s']} env steps/s)")
    write_report(report, args.out or os.path.join("benchmarks", "results", f"host_profile-{cfg.name}.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
