"""Raw collection throughput of an on-device env: N envs stepped with uniform random actions.

    python -m benchmarks.collect [--env=ant] [--num-envs=64,256,1024,4096] [--steps=200]
        [--repeats=3] [--timeout=SECONDS] [--out=FILE.json]

For each N, in a fresh subprocess so that its peak memory is its own: builds
``make_env(env, N)`` (MJX Ant by default), resets it, and compiles one jitted ``lax.scan`` of
``--steps`` calls of ``env.step`` with actions drawn uniformly from [-1, 1] (the env state is
donated, the envs auto-reset as in training). Reports the compile time, one untimed warm-up
execution, then the median of ``--repeats`` timed executions as env steps/s (N * steps / time).
Peak memory: the device allocator's peak where it reports one (GPU), else the process's peak
resident set size. Also counted, to read the figures by: finished episodes and the fraction of
steps on which some env of the batch finished (the steps that run the reset physics).
An N whose worker fails or outruns ``--timeout`` is recorded with its error and the others
still run; the exit status is then 1. Results are printed and saved as JSON
(default benchmarks/results/collect-ENV.json).
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


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.collect", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="ant", help="env name for largerl_jax.envs.make_env (a JAX env)")
    p.add_argument("--num-envs", default="64,256,1024,4096", help="comma-separated env counts N")
    p.add_argument("--steps", type=int, default=200, help="env steps per timed rollout (one lax.scan)")
    p.add_argument("--repeats", type=int, default=3, help="timed executions of the compiled rollout")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per N (default: none)")
    p.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/collect-ENV.json)")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    return p


def measure(env_name: str, num_envs: int, steps: int, repeats: int, seed: int = 0) -> dict:
    """Times one env count in this process."""
    import jax
    import jax.numpy as jnp

    from largerl_jax.envs import is_host_env, make_env

    env = make_env(env_name, num_envs)
    if is_host_env(env):
        raise SystemExit(f"{env_name!r} is a host (Gymnasium) env; this benchmark times on-device envs")
    act_dim = env.spec.act_dim

    def rollout(state, key):
        def body(carry, _):
            state, key = carry
            key, sub = jax.random.split(key)
            action = jax.random.uniform(sub, (num_envs, act_dim), jnp.float32, -1.0, 1.0)
            state, res = env.step(state, action)
            done = jnp.maximum(res.terminated, res.truncated)
            return (state, key), (done.sum(), (done > 0).any(), res.invalid.sum())

        (state, key), (finished, any_done, invalid) = jax.lax.scan(body, (state, key), None, length=steps)
        counts = {
            "episodes_finished": finished.sum(),
            "steps_with_reset": any_done.sum(),
            "invalid_steps": invalid.sum(),
        }
        return state, key, counts

    reset_key, key = jax.random.split(jax.random.PRNGKey(seed))
    state = jax.jit(env.reset)(reset_key)
    jax.block_until_ready(state)

    t0 = time.perf_counter()
    compiled = jax.jit(rollout, donate_argnums=(0,)).lower(state, key).compile()
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    state, key, counts = compiled(state, key)
    jax.block_until_ready((state, counts))
    warmup_s = time.perf_counter() - t0

    times, totals = [], {k: 0 for k in counts}
    for _ in range(repeats):
        t0 = time.perf_counter()
        state, key, counts = compiled(state, key)
        jax.block_until_ready((state, counts))
        times.append(time.perf_counter() - t0)
        for k, v in counts.items():
            totals[k] += int(v)
    median = statistics.median(times)
    device = jax.devices()[0]
    peak, peak_kind = peak_memory()
    timed_steps = steps * repeats
    return {
        "num_envs": num_envs,
        "compile_s": round(compile_s, 3),
        "warmup_s": round(warmup_s, 4),
        "rollout_s_median": round(median, 4),
        "rollout_s_all": [round(t, 4) for t in times],
        "env_steps_per_s": round(num_envs * steps / median, 1),
        "episodes_finished": totals["episodes_finished"],
        "reset_step_fraction": round(totals["steps_with_reset"] / timed_steps, 4),
        "invalid_steps": totals["invalid_steps"],
        "peak_memory_bytes": int(peak),
        "peak_memory_kind": peak_kind,
        "device": str(device),
        "device_kind": getattr(device, "device_kind", device.platform),
        "jax_version": jax.__version__,
    }


def _run_worker(cmd: list[str], timeout: float | None) -> tuple[dict | None, str | None]:
    """Runs one worker; returns (row, None) or (None, error)."""
    # Same process group as this one, so that whoever times this script out (gpu_suite) ends the
    # worker too; the worker starts no processes of its own.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, f"timed out after {timeout:g} s; stderr tail: {err[-1500:]}"
    if proc.returncode != 0:
        return None, f"exit {proc.returncode}; stderr tail: {err[-1500:]}"
    try:
        return json.loads(out.strip().splitlines()[-1]), None
    except (IndexError, ValueError):
        return None, f"no JSON row in the worker's output; stdout tail: {out[-500:]}; stderr tail: {err[-1000:]}"


def _jax_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("jax")
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.worker is not None:
        print(json.dumps(measure(args.env, args.worker, args.steps, args.repeats, args.seed)))
        return 0
    counts = [int(n) for n in args.num_envs.split(",") if n]
    if not counts or min(counts) < 1 or args.steps < 1 or args.repeats < 1:
        _parser().error("--num-envs, --steps and --repeats must be positive")
    results, failed = [], 0
    for n in counts:
        cmd = [
            sys.executable, "-m", "benchmarks.collect", f"--env={args.env}", f"--steps={args.steps}",
            f"--repeats={args.repeats}", f"--seed={args.seed}", f"--worker={n}",
        ]
        row, error = _run_worker(cmd, args.timeout)
        if error is not None:
            failed += 1
            results.append({"num_envs": n, "error": error})
            print(f"N={n}: FAILED: {error.splitlines()[0][:300]}", flush=True)
            continue
        results.append(row)
        print(
            f"N={n}: compile {row['compile_s']:.1f} s | {row['env_steps_per_s']:,.0f} env steps/s | "
            f"resets on {100 * row['reset_step_fraction']:.0f}% of steps | "
            f"peak {row['peak_memory_bytes'] / 2**20:,.0f} MiB",
            flush=True,
        )
    ok = [r for r in results if "error" not in r]
    report = {
        "benchmark": "collect",
        "env": args.env,
        "command": "python -m benchmarks.collect " + " ".join(argv),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
        "device": ok[0]["device_kind"] if ok else None,
        "jax_version": ok[0]["jax_version"] if ok else _jax_version(),
        "steps_per_rollout": args.steps,
        "repeats": args.repeats,
        "actions": "uniform in [-1, 1]",
        "results": results,
    }
    _print_table(report)
    write_report(report, args.out or os.path.join("benchmarks", "results", f"collect-{args.env}.json"))
    return 1 if failed else 0


def _print_table(report: dict) -> None:
    print(f"\n{report['env']} collection, {report['steps_per_rollout']} steps per rollout, "
          f"median of {report['repeats']} ({report['device']}, jax {report['jax_version']})")
    print(f"{'N':>6} | {'compile s':>9} | {'env steps/s':>12} | {'reset steps':>11} | {'peak MiB':>9}")
    for r in report["results"]:
        if "error" in r:
            print(f"{r['num_envs']:>6} | FAILED: {r['error'].splitlines()[0][:80]}")
        else:
            print(f"{r['num_envs']:>6} | {r['compile_s']:>9.1f} | {r['env_steps_per_s']:>12,.0f} | "
                  f"{100 * r['reset_step_fraction']:>10.0f}% | {r['peak_memory_bytes'] / 2**20:>9,.0f}")


if __name__ == "__main__":
    sys.exit(main())
