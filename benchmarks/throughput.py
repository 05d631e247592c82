"""Training throughput of a config for S = 1, 2, 4, 8 vmapped seeds.

    python -m benchmarks.throughput --config=NAME [--config.KEY=VALUE ...]
        [--seeds=1,2,4,8] [--iterations=200] [--repeats=3] [--out=FILE.json]

Each seed count runs in a fresh subprocess so its peak memory is its own. It compiles one
training chunk of ``--iterations`` iterations (N env steps + U gradient steps each), reports
the compile time, then times ``--repeats`` executions of the compiled chunk and reports the
median env steps/s and gradient steps/s summed over seeds. Peak memory: the device allocator's
peak where it reports one (GPU), else the process's peak resident set size.
Host-stepped (Gymnasium) configs are timed the same way, compile time being the first chunk's
excess over the median.
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

from benchmarks.report_io import peak_memory, write_report
from experiments.cli import config_from_args, split_overrides


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="experiment name")
    p.add_argument("--seeds", default="1,2,4,8", help="comma-separated seed counts")
    p.add_argument("--iterations", type=int, default=200, help="iterations per timed chunk")
    p.add_argument("--repeats", type=int, default=3, help="timed executions of the compiled chunk")
    p.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/throughput-NAME.json)")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    return p


def measure(cfg, num_seeds: int, iterations: int, repeats: int) -> dict:
    """Times one configuration in this process, compiled under its ``matmul_precision``."""
    from largerl_jax.training.precision import matmul_precision

    with matmul_precision(cfg.matmul_precision):
        return _measure(cfg, num_seeds, iterations, repeats)


def _measure(cfg, num_seeds: int, iterations: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    from largerl_jax.training import SeedBatchedDeviceLoop, make_driver, validate
    from largerl_jax.training.copy_audit import audit_replay_copies

    validate(cfg)
    seeds = [cfg.seed + i for i in range(num_seeds)]
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    driver = make_driver(cfg, seeds)
    ts = driver.init(keys, cfg.replay_capacity)
    jax.block_until_ready(ts)
    times = []
    if isinstance(driver, SeedBatchedDeviceLoop):
        t0 = time.perf_counter()
        compiled = driver.chunk_fn(iterations, "train").lower(ts).compile()
        compile_s = time.perf_counter() - t0
        audit = audit_replay_copies(compiled, ts.replay, cfg.replay_capacity)
        for _ in range(repeats):
            t0 = time.perf_counter()
            ts, metrics = compiled(ts)
            jax.block_until_ready((ts, metrics))
            times.append(time.perf_counter() - t0)
    else:
        audit = audit_replay_copies(
            driver.learn_fn("train").lower(ts, _abstract_batch(driver, cfg, num_seeds)).compile(),
            ts.replay,
            cfg.replay_capacity,
        )
        first = None
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            ts, metrics = driver.chunk(ts, iterations, "train")
            jax.block_until_ready((ts, metrics))
            elapsed = time.perf_counter() - t0
            if first is None:
                first = elapsed
            else:
                times.append(elapsed)
        compile_s = max(first - statistics.median(times), 0.0)
    settings = work_settings(cfg, driver, ts)
    driver.close()
    median = statistics.median(times)
    env_steps = iterations * cfg.env.num_envs * num_seeds
    grad_steps = iterations * cfg.updates_per_iteration * num_seeds
    device = jax.devices()[0]
    peak, peak_kind = peak_memory()
    return {
        "seeds": num_seeds,
        "compile_s": round(compile_s, 3),
        "chunk_s_median": round(median, 4),
        "chunk_s_all": [round(t, 4) for t in times],
        "env_steps_per_s": round(env_steps / median, 1),
        "grad_steps_per_s": round(grad_steps / median, 1),
        "env_steps_per_s_per_seed": round(env_steps / median / num_seeds, 1),
        "peak_memory_bytes": int(peak),
        "peak_memory_kind": peak_kind,
        "device": str(device),
        "replay_capacity": cfg.replay_capacity,
        "matmul_precision": cfg.matmul_precision,
        "replay_copy_audit": audit.summary(),
        "settings": settings,
    }


def work_settings(cfg, driver, ts) -> dict:
    """What a run's work per iteration depends on, read from the built objects (the same fields
    as ``benchmarks/peer_runners/brax_sac.py`` reports for Brax's trainer, where they apply)."""
    import jax
    import numpy as np

    spec = driver.spec
    out = {"obs_dim": int(spec.obs_dim), "act_dim": int(spec.act_dim), "num_envs": int(cfg.env.num_envs),
           "updates_per_iteration": int(cfg.updates_per_iteration), "batch_size": int(cfg.agent.batch_size),
           "replay_capacity": int(cfg.replay_capacity)}
    inner = getattr(getattr(getattr(driver, "loop", None), "env", None), "_env", None)
    if inner is not None and hasattr(inner, "sys"):  # a Brax env: its class and physics options
        opt = inner.sys.opt
        out.update(env_class=f"{type(inner).__module__}.{type(inner).__name__}", backend=inner.backend,
                   n_frames=int(inner._n_frames), dt=float(inner.dt), solver=int(opt.solver),
                   iterations=int(opt.iterations), ls_iterations=int(opt.ls_iterations))
    # ts leads with the seed axis (concrete or abstract): count one seed's parameters
    for name, (_, variables) in driver.agent.networks(ts.agent).items():
        out[f"{name}_params"] = int(sum(np.prod(x.shape[1:]) for x in jax.tree.leaves(variables["params"])))
    num_q = cfg.agent.get("num_q")
    if num_q is not None:
        out["num_q"] = int(num_q)
    return out


def _abstract_batch(driver, cfg, num_seeds: int):
    """Shapes of the [S, N, ...] transition batch that a host loop's store-and-learn takes."""
    import jax
    import jax.numpy as jnp

    from largerl_jax.replay import Transition

    n, spec = cfg.env.num_envs, driver.spec
    f32 = lambda *shape: jax.ShapeDtypeStruct((num_seeds, n, *shape), jnp.float32)
    return Transition(
        obs=f32(spec.obs_dim), action=f32(spec.act_dim), reward=f32(), next_obs=f32(spec.obs_dim),
        terminated=f32(), truncated=f32(),
    )


def worker_argv(argv: list[str], num_seeds: int) -> list[str]:
    """The arguments of the worker that measures ``num_seeds`` seeds: this command's config,
    its ``--config.`` overrides, ``--iterations`` and ``--repeats``, rebuilt from the parsed
    command (so ``--seeds``/``--out`` go with their values, in either spelling)."""
    rest, overrides = split_overrides(argv)
    args = _parser().parse_args(rest)
    return [
        f"--config={args.config}", *(f"--config.{key}={value}" for key, value in overrides),
        f"--iterations={args.iterations}", f"--repeats={args.repeats}", f"--worker={num_seeds}",
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args, cfg = config_from_args(_parser(), argv)
    if args.worker is not None:
        print(json.dumps(measure(cfg, args.worker, args.iterations, args.repeats)))
        return 0
    seed_counts = [int(s) for s in args.seeds.split(",") if s]
    results = []
    for s in seed_counts:
        cmd = [sys.executable, "-m", "benchmarks.throughput", *worker_argv(argv, s)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"benchmark worker for {s} seed(s) failed (exit {proc.returncode})")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(row)
        print(
            f"S={s}: compile {row['compile_s']:.1f} s | {row['env_steps_per_s']:,.0f} env steps/s | "
            f"{row['grad_steps_per_s']:,.0f} grad steps/s | peak {row['peak_memory_bytes'] / 2**20:,.0f} MiB",
            flush=True,
        )
    report = {
        "config": cfg.name,
        "command": "python -m benchmarks.throughput " + " ".join(argv),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
        "num_envs": cfg.env.num_envs,
        "updates_per_iteration": cfg.updates_per_iteration,
        "iterations_per_chunk": args.iterations,
        "results": results,
    }
    write_report(report, args.out or os.path.join("benchmarks", "results", f"throughput-{cfg.name}.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
