"""The GPU benchmark suite: one command for a lent GPU machine.

    python -m benchmarks.gpu_suite --out=DIR [--dry-run] [--only=STEP,...] [--budget-s=SECONDS]

Runs, each step in its own subprocess (process group) with a time limit
(``benchmarks/step_runner.py``), so that a failure or a hang is recorded and the remaining
steps still run:

- ``probe``: JAX version, devices and the versions of the packages the benchmarks import;
- ``benchmarks.throughput`` for ``ant_sac`` and ``ant_sac_ofe`` at S = 1, 2, 4, 8 seeds
  (one step per S, named ``ant_sac@8`` etc.), and for today's methods at the seeds of
  ``config_seeds``: FastTD3 at 1024 and 4096 envs per seed (``ant_fast_td3``,
  ``ant_fast_td3_4096``: batch 32,768, 2 updates per vectorized step) and CrossQ
  (``ant_crossq``: 2 x 2048 batch-renormalized critics, one env, UTD 1);
- ``benchmarks.collect`` for MJX Ant at N = 64, 256, 1024, 4096 envs (``collect@4096`` etc.);
- ``benchmarks.peers --only=brax`` at 64x8 and 1024x2b8192 (``brax@64x8`` etc.): our ``ant_sac``
  against Brax's own SAC trainer on the same work, one round per regime (``peers-brax.json``).

Steps run in priority order (the figures the targets need first) and each gets
``min(its own limit, what is left of --budget-s)``; a step that would get less than a minimum
is recorded as skipped. DIR receives one merged JSON per benchmark
(``throughput-ant_sac.json``, ``throughput-ant_sac_ofe.json``, ``collect-ant.json``, in the
formats of those scripts plus the failures), ``summary.json`` and ``gpu_results.md`` (tables,
the commands, and the targets as PASS / FAIL / UNMEASURED lines; ``benchmarks/gpu_report.py``).
Per-step outputs go to a temporary folder, so DIR stays at five files.

Targets (defined for an H100): 8 seeds of ``ant_sac`` in at most 2x the wall time of one seed
(summed env steps/s at S = 8 >= 4x that at S = 1), and MJX Ant collection at >= 1M env steps/s
at 4096 envs.

``--dry-run`` runs the same code on a CPU at toy sizes (S = 1, 2; N = 8, 16; two iterations;
networks shrunk by config overrides) to prove the pipeline and the report writing.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time

from benchmarks.gpu_report import TARGET_CONFIG, write_reports
from benchmarks.package_versions import package_versions
from benchmarks.step_runner import Step, run_steps

# Workloads. GPU: ant_sac is 1 env + 1 gradient step per iteration (a few ms on a GPU), so 300
# iterations give chunks of about a second; ant_sac_ofe is 64 envs + 8 gradient steps of the
# 2x2048 DenseNet SAC + OFENet per iteration (about 1 gradient step/s per seed on the 2-core
# CPU, ~100x that expected on an H100), so 10 iterations (80 gradient steps per seed).
# Compilation (tens of seconds per process) dominates each step's wall time.
PLANS = {
    "gpu": {
        "configs": ("ant_sac", "ant_sac_ofe", "ant_fast_td3", "ant_fast_td3_4096", "ant_crossq"),
        "seeds": (1, 2, 4, 8),
        # seeds of the configs that do not sweep them all: the parallel regime's replay is 1.5 GB
        # per seed (10.5M rows), and each step costs its compile
        "config_seeds": {"ant_fast_td3": (1, 4), "ant_fast_td3_4096": (1,), "ant_crossq": (1, 8)},
        # steps that run right after the two targets' extremes, before the Brax comparison: the
        # first measurement of each of today's methods (issue 21)
        "early": ("ant_fast_td3@1", "ant_fast_td3_4096@1", "ant_crossq@1"),
        # FastTD3: 1024 or 4096 env steps and 2 updates of 32,768 rows per iteration; CrossQ: one
        # env step and one update of 256 rows through 2 x 2048 critics
        "iterations": {"ant_sac": 300, "ant_sac_ofe": 10, "ant_fast_td3": 20, "ant_fast_td3_4096": 20,
                       "ant_crossq": 200},
        "default_iterations": 50,
        "repeats": 3,
        "collect_env": "ant",
        "num_envs": (64, 256, 1024, 4096),
        "collect_steps": 200,
        "collect_repeats": 3,
        "limits": {"probe": 120, "throughput": 150, "ant_sac_ofe": 210, "collect": 120, "brax": 240},
        # ours against Brax's SAC trainer (benchmarks.peers Part 3), one round per regime
        "brax_regimes": ("64x8", "1024x2b8192"),
        "budget_s": 510,
        "min_step_s": 45,
    },
    "dry": {
        "configs": ("ant_sac", "ant_sac_ofe", "ant_fast_td3", "ant_crossq"),
        "seeds": (1, 2),
        "config_seeds": {"ant_fast_td3": (1,), "ant_crossq": (1,)},
        "iterations": {},
        "default_iterations": 2,
        "repeats": 1,
        "collect_env": "ant",
        "num_envs": (8, 16),
        "collect_steps": 5,
        "collect_repeats": 1,
        "limits": {"probe": 120, "throughput": 600, "ant_sac_ofe": 600, "collect": 600, "brax": 600},
        "brax_regimes": (),  # Brax's compile alone is a minute on 2 cores; the steps are built and listed
        "budget_s": 3600,
        "min_step_s": 5,
    },
}

# Packages whose versions the probe records.
PROBED_PACKAGES = (
    "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda13-pjrt", "jax-cuda12-plugin", "jax-cuda12-pjrt",
    "numpy", "scipy", "flax", "optax", "chex", "orbax-checkpoint", "ml-collections",
    "mujoco", "mujoco-core", "mujoco-mjx", "brax", "tensorstore",
)


def shrink_overrides(config_name: str) -> list[str]:
    """Config overrides that make a config a CPU toy: 16-wide nets, a small OFENet and replay,
    at most 8 envs and 2 updates per iteration. Only keys that the config has."""
    from experiments.configs import get_config

    cfg = get_config(config_name)
    agent = cfg.agent
    o = {"agent.batch_size": 32, "replay_capacity": 10000}
    for net in ("actor", "critic", "value"):
        if net in agent and agent[net] is not None and "width" in agent[net]:
            o[f"agent.{net}.width"] = 16
            if agent[net].get("widths") is not None:
                o[f"agent.{net}.widths"] = "(" + "16," * agent[net].depth + ")"
    if agent.get("features") == "ofenet" and agent.get("ofenet") is not None:
        o.update({"agent.ofenet.units": 8, "agent.ofenet.num_layers": 2, "agent.ofenet.batch_size": 32})
    if cfg.env.num_envs > 8:
        o["env.num_envs"] = 8
    if cfg.updates_per_iteration > 2:
        o["updates_per_iteration"] = 2
    return [f"--config.{k}={v}" for k, v in o.items()]


def _priority(names: list[str], early: tuple[str, ...] = ()) -> list[str]:
    """Step names in the order to run them: the probe; the seed-scaling target's extremes
    (S = 1 and the most seeds); collection at the most envs (the other target); the ``early``
    steps; the Brax comparison; the other configs' extremes; collection at the fewest envs;
    then the middle sizes."""
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for n in names:
        g, _, size = n.partition("@")
        if size.isdigit():
            groups[g].append(int(size))

    def rank(name: str):
        g, _, size = name.partition("@")
        if not size:
            return (0, 0)
        if name in early:
            return (2.2, early.index(name))
        if g == "brax":  # after the two targets' extremes, before the other configs
            return (2.5, 0)
        size, sizes = int(size), groups[g]
        extreme = size in (min(sizes), max(sizes))
        if g == TARGET_CONFIG and extreme:
            return (1, size)
        if g == "collect" and size == max(sizes):
            return (2, size)
        if g != "collect" and extreme:
            return (3, size)
        if g == "collect" and size == min(sizes):
            return (4, size)
        return (5 if g == TARGET_CONFIG else 6 if g == "collect" else 7, size)

    return sorted(names, key=rank)  # stable: configs keep their order within a rank


def build_steps(plan: dict, work: str, dry_run: bool, configs=None, seeds=None, num_envs=None,
                collect_env=None, brax_regimes=None) -> list[Step]:
    py = sys.executable
    configs = configs or plan["configs"]
    seeds = seeds or plan["seeds"]
    num_envs = num_envs or plan["num_envs"]
    collect_env = collect_env or plan["collect_env"]
    limits = plan["limits"]
    steps = {"probe": Step("probe", "probe", None, None, [py, "-m", "benchmarks.gpu_suite", "--probe"], None,
                           limits["probe"])}
    for name in configs:
        iters = plan["iterations"].get(name, plan["default_iterations"])
        overrides = shrink_overrides(name) if dry_run else []
        for s in plan.get("config_seeds", {}).get(name, seeds):
            out = os.path.join(work, f"throughput-{name}-S{s}.json")
            argv = [py, "-m", "benchmarks.throughput", f"--config={name}", *overrides, f"--seeds={s}",
                    f"--iterations={iters}", f"--repeats={plan['repeats']}", f"--out={out}"]
            steps[f"{name}@{s}"] = Step(f"{name}@{s}", "throughput", f"throughput-{name}", s, argv, out,
                                        limits.get(name, limits["throughput"]))
    for n in num_envs:
        out = os.path.join(work, f"collect-{collect_env}-N{n}.json")
        argv = [py, "-m", "benchmarks.collect", f"--env={collect_env}", f"--num-envs={n}",
                f"--steps={plan['collect_steps']}", f"--repeats={plan['collect_repeats']}", f"--out={out}"]
        steps[f"collect@{n}"] = Step(f"collect@{n}", "collect", f"collect-{collect_env}", n, argv, out,
                                     limits["collect"])
    for regime in brax_regimes if brax_regimes is not None else plan["brax_regimes"]:
        out = os.path.join(work, f"peers-brax-{regime}.json")
        argv = [py, "-m", "benchmarks.peers", "--only=brax", f"--brax-regimes={regime}", "--brax-seeds=0",
                "--rounds=1", "--repeats=2", f"--out={out}"]
        steps[f"brax@{regime}"] = Step(f"brax@{regime}", "brax", "peers-brax", None, argv, out, limits["brax"])
    return [steps[n] for n in _priority(list(steps), plan.get("early", ()))]


def select(steps: list[Step], only: str | None) -> list[Step]:
    """``--only``: comma-separated step names (``ant_sac@8``) or groups (``ant_sac``, ``collect``)."""
    if not only:
        return steps
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    known = {s.name for s in steps} | {s.name.partition("@")[0] for s in steps}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"--only: unknown step(s) {sorted(unknown)}; known: {sorted(known)}")
    return [s for s in steps if s.name in wanted or s.name.partition("@")[0] in wanted]


def equivalent_commands(plan: dict, dry_run: bool, configs, seeds, num_envs, collect_env: str) -> dict[str, str]:
    """Per results group, the single command of its benchmark that measures what its steps did."""
    iters = {c: plan["iterations"].get(c, plan["default_iterations"]) for c in configs}
    equivalent = {}
    for c in configs:
        seeds_s = ",".join(map(str, plan.get("config_seeds", {}).get(c, seeds)))
        over = " ".join(shrink_overrides(c)) + " " if dry_run else ""
        equivalent[f"throughput-{c}"] = (f"python -m benchmarks.throughput --config={c} {over}--seeds={seeds_s} "
                                         f"--iterations={iters[c]} --repeats={plan['repeats']}")
    equivalent[f"collect-{collect_env}"] = (
        f"python -m benchmarks.collect --env={collect_env} --num-envs={','.join(map(str, num_envs))} "
        f"--steps={plan['collect_steps']} --repeats={plan['collect_repeats']}")
    return equivalent


def probe() -> dict:
    """What the benchmarks run on (prints nothing else; the suite reads the last line)."""
    import jax

    devs = jax.devices()
    d = devs[0]
    stats = d.memory_stats() if hasattr(d, "memory_stats") else None
    return {
        "python": platform.python_version(),
        "jax_version": jax.__version__,
        "platform": d.platform,
        "device_kind": getattr(d, "device_kind", d.platform),
        "device_count": len(devs),
        "devices": [str(x) for x in devs],
        "memory_bytes_limit": (stats or {}).get("bytes_limit"),
        "packages": {k: v for k, v in package_versions(PROBED_PACKAGES).items() if v is not None},
    }


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_suite", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="output folder (created)")
    p.add_argument("--dry-run", action="store_true", help="toy sizes on any device (CPU) to test the pipeline")
    p.add_argument("--only", default=None, help="comma-separated steps (ant_sac@8, collect@4096, probe) or groups (ant_sac, collect)")
    p.add_argument("--budget-s", type=float, default=None, help="wall-time budget of the whole suite (GPU default 510)")
    p.add_argument("--configs", default=None, help="throughput configs (default ant_sac,ant_sac_ofe)")
    p.add_argument("--seeds", default=None, help="seed counts (default 1,2,4,8; dry run 1,2)")
    p.add_argument("--num-envs", default=None, help="collection env counts (default 64,256,1024,4096; dry run 8,16)")
    p.add_argument("--collect-env", default=None, help="env of the collection benchmark (default ant)")
    p.add_argument("--inject-failure", action="store_true",
                   help="(tests) add a throughput step with an unknown config key, which must be recorded as failed")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    return p


def _ints(text: str | None):
    return tuple(int(x) for x in text.split(",") if x.strip()) if text else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.probe:
        print(json.dumps(probe()))
        return 0
    if not args.out:
        _parser().error("--out=DIR is required")
    plan = PLANS["dry" if args.dry_run else "gpu"]
    configs = tuple(c for c in args.configs.split(",") if c) if args.configs else plan["configs"]
    seeds = _ints(args.seeds) or plan["seeds"]
    num_envs = _ints(args.num_envs) or plan["num_envs"]
    collect_env = args.collect_env or plan["collect_env"]
    budget = args.budget_s if args.budget_s is not None else plan["budget_s"]
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gpu_suite_")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    command = "python -m benchmarks.gpu_suite " + " ".join(argv)
    print(f"{command}\n(working folder {work}; results to {args.out})", flush=True)

    steps = build_steps(plan, work, args.dry_run, configs, seeds, num_envs, collect_env)
    if args.inject_failure:
        bad = os.path.join(work, "throughput-injected-failure.json")
        steps.append(Step(f"{configs[0]}@99", "throughput", f"throughput-{configs[0]}", 99,
                          [sys.executable, "-m", "benchmarks.throughput", f"--config={configs[0]}",
                           "--config.no_such_key=1", "--seeds=99", f"--out={bad}"], bad, 120))
    steps = select(steps, args.only)
    try:
        run_steps(steps, budget, plan["min_step_s"])
        equivalent = equivalent_commands(plan, args.dry_run, configs, seeds, num_envs, collect_env)
        summary, reports, md = write_reports(args.out, steps, equivalent, command, args.dry_run, started,
                                             time.perf_counter() - t0, seeds, num_envs, collect_env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n" + md, flush=True)
    print("\n".join(summary["target_lines"]), flush=True)
    if summary.get("rerun_skipped"):
        print(f"skipped for lack of time; to run them: {summary['rerun_skipped']}", flush=True)
    n_bad = sum(s["status"] != "ok" for s in summary["steps"])
    print(f"\n{len(steps) - n_bad}/{len(steps)} steps ok; wrote {', '.join(summary['files'])} to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
