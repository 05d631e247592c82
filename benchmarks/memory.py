"""Cost of each head (Bjorck et al. 2021, Table 2): training time per update and memory, acting
time per step and memory.

    python -m benchmarks.memory --configs=NAME[,NAME...] [--config.KEY=VALUE ...]
        [--dims=OBS,ACT] [--batch-size=512] [--updates=20] [--act-steps=200] [--repeats=5]
        [--out=FILE.json] [--markdown=FILE.md]

Every measurement runs in a fresh process, so each peak is that configuration's alone: one that
compiles the jitted update (state donated, as in training), warms it up and times ``--repeats``
runs of ``--updates`` updates on a fixed batch; one that builds only the weights acting reads and
times ``--repeats`` runs of ``--act-steps`` stochastic actions for one observation, each awaited;
one empty JAX process, whose peak every other includes. Times are medians over the repeats.
Peak memory: the device allocator's peak on a GPU, else the process's peak resident set size
(which includes the JAX runtime and XLA's compilation). The paper measures SAC from pixels, where
the shared convolutional encoder dominates; these configs are state-based, so the figures are the
heads alone. A pixel config goes through the same workers once its observation shape (``--dims
84x84x9,6``) is wired into the agents.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys

from benchmarks.json_subprocess import BenchmarkError, run_json
from benchmarks.memory_table import markdown_report
from benchmarks.report_io import write_report
from experiments.cli import split_overrides
from experiments.configs import get_config
from experiments.overrides import apply_overrides


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", required=True, help="comma-separated experiment names")
    p.add_argument("--dims", default=None, help="OBS,ACT for every config (default: read from each env's spec)")
    p.add_argument("--batch-size", type=int, default=512, help="training batch (the paper's 512)")
    p.add_argument("--updates", type=int, default=20, help="updates per timed repeat (the paper averages 500)")
    p.add_argument("--act-steps", type=int, default=200, help="act calls per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed to each worker")
    p.add_argument("--out", default=os.path.join("benchmarks", "results", "memory.json"))
    p.add_argument("--markdown", default=None, help="markdown table path (default: --out with .md)")
    return p


def machine() -> dict:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": cpu or platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "usable_cpus": usable, "system": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(),
            # Other work on the machine slows every figure; this says how much there was.
            "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


def _worker(kind: str, extra: list[str], timeout) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.memory_worker", f"--kind={kind}", *extra]
    return run_json(cmd, f"{kind} worker ({' '.join(extra[:1])})", timeout=timeout)


def _config_args(name: str, overrides) -> list[str]:
    return [f"--config={name}", *(f"--config.{k}={v}" for k, v in overrides)]


def _env_key(name: str, overrides) -> tuple:
    """Which env a config acts in; also fails early on an unknown name or override. Builds
    only the config: nothing here touches a JAX device."""
    cfg = apply_overrides(get_config(name), overrides)
    return cfg.env.name, cfg.env.get("action_repeat", 1)


def measure_config(name: str, overrides, args, dims_cache: dict) -> dict:
    base = _config_args(name, overrides)
    row = {"config": name}
    try:
        dims = args.dims
        if dims is None:
            # The spec worker builds the env in its own process, so that this one holds no
            # accelerator memory while the measuring workers run.
            env = _env_key(name, overrides)
            if env not in dims_cache:
                dims_cache[env] = _worker("spec", base, args.timeout)["dims"]
            dims = dims_cache[env]
        row["dims"] = dims
        common = [*base, f"--dims={dims}", f"--repeats={args.repeats}"]
        row["train"] = _worker("train", [*common, f"--batch-size={args.batch_size}", f"--updates={args.updates}"],
                               args.timeout)
        row["act"] = _worker("act", [*common, f"--act-steps={args.act_steps}"], args.timeout)
    except BenchmarkError as e:
        row["error"] = str(e)
    return row


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rest, overrides = split_overrides(argv)
    args = _parser().parse_args(rest)
    names = [n for n in args.configs.split(",") if n]
    for name in names:
        _env_key(name, overrides)
    report = {
        "what": "SAC heads from states (no pixel encoder): the heads' cost alone",
        "command": "python -m benchmarks.memory " + " ".join(argv),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
        "machine": machine(),
        "batch_size": args.batch_size,
        "updates_per_repeat": args.updates,
        "act_steps_per_repeat": args.act_steps,
        "repeats": args.repeats,
    }
    report["baseline"] = _worker("baseline", [], args.timeout)
    report["rows"], dims_cache = [], {}
    for name in names:
        row = measure_config(name, overrides, args, dims_cache)
        report["rows"].append(row)
        print(f"{name}: " + (f"failed: {row['error'].splitlines()[0]}" if "error" in row else
              f"train {row['train']['ms_per_update']:.2f} ms/update, act {row['act']['ms_per_step']:.3f} ms/step"),
              flush=True)
    text = markdown_report(report)
    print(text)
    write_report(report, args.out)
    md = args.markdown or os.path.splitext(args.out)[0] + ".md"
    with open(md, "w") as f:
        f.write(text)
    print(f"wrote {md}")
    return 1 if any("error" in r for r in report["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
