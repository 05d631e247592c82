"""Whether this tree compiles the same training programs as a reference commit: a refactor that
leaves every optimised XLA program unchanged cannot have changed throughput, which says more
than a speed ratio measured on a CPU that drifts by 30% between runs.

    python -m benchmarks.program_identity [--reference=COMMIT] [--cases=ant_sac@1x1,...]
        [--out=FILE.json]

A case is CONFIG@NxU: the experiment config at N envs and U updates per iteration, one seed.
Each is compiled without running (``lower(abstract state).compile()`` allocates nothing, so the
full-size 1M-row programs compile on a CPU): an on-device config's train chunk
(``chunk_fn(ITERATIONS, 'train')``) and a host config's store-and-learn program
(``learn_fn('train')``). The optimised HLO text, less its metadata (source files and lines, op
names of Python scopes), its stack-frame tables and its module name, with every instruction and
computation renamed by order of first use (their names come from Python function names), is
hashed. The reference commit is checked out
of this clone into a temporary worktree and compiled by the same worker code in a fresh
process there, so nothing of this tree is imported; the cases interleave (ours, then the
reference's, case by case). Every case must match (exit 0; 1 otherwise). The defaults are the
programs ``benchmarks.peers`` times: ``ant_sac`` in the Brax regimes and ``gym_ant_sac`` (the
host path it times against sbx), plus the main job ``ant_sac_ofe``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# d583fdf: the last commit before the issue-18 refactor (tests/golden/reference.py's COMMIT)
DEFAULT_REFERENCE = "d583fdf99cad96afc9888ce0b9f3637cefc4f91c"
DEFAULT_CASES = "ant_sac@1x1,ant_sac@64x8,gym_ant_sac@1x1,ant_sac_ofe@64x8"
ITERATIONS = 4

# Runs with the tree's root as the working directory, so its own package is imported. It uses
# only what both trees have: experiments.configs.get_config, training.make_driver and the
# drivers' chunk_fn / learn_fn / abstract_state, benchmarks.throughput._abstract_batch.
WORKER = r"""
import hashlib, json, re, sys
import jax, jax.numpy as jnp
from experiments.configs import get_config
from largerl_jax.training import SeedBatchedDeviceLoop, make_driver, validate

name, num_envs, updates, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg = get_config(name)
cfg.env.num_envs, cfg.updates_per_iteration = num_envs, updates
def up(value, step):
    return -(-value // step) * step
for key in ("warmup_env_steps", "eval_every_env_steps", "total_env_steps"):  # multiples of the env count
    cfg[key] = up(cfg[key], num_envs)
cfg.log_every_env_steps = cfg.eval_every_env_steps
if cfg.checkpoint_every_env_steps:  # checkpoints are taken at evaluation points
    cfg.checkpoint_every_env_steps = up(cfg.checkpoint_every_env_steps, cfg.eval_every_env_steps)
validate(cfg)
driver = make_driver(cfg, [cfg.seed])
keys = jax.ShapeDtypeStruct((1, 2), jnp.uint32)
ts = driver.abstract_state(keys, cfg.replay_capacity)
if isinstance(driver, SeedBatchedDeviceLoop):
    compiled = driver.chunk_fn(iterations, "train").lower(ts).compile()
else:
    from benchmarks.throughput import _abstract_batch
    compiled = driver.learn_fn("train").lower(ts, _abstract_batch(driver, cfg, 1)).compile()
text = compiled.as_text()
text = re.sub(r",?\s*metadata=\{[^}]*\}", "", text)
# the stack-frame tables (source files, functions, lines) between the module line and the first
# computation: where the Python was, not what the program does
text = re.sub(r"^FileNames$.*?^StackFrames$.*?^$", "", text, flags=re.M | re.S)
text = re.sub(r"^HloModule \S+", "HloModule", text, flags=re.M)
# instruction and computation names come from Python function names; number them by first use
names = {}
text = re.sub(r"%[\w.\-]+", lambda m: names.setdefault(m.group(0), "%%n%d" % len(names)), text)
driver.close()
if len(sys.argv) > 5:
    open(sys.argv[5], "w").write(text)
print(json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(), "lines": text.count("\n"),
                  "instructions": sum(1 for line in text.splitlines() if " = " in line)}))
"""


def _parse_case(case: str) -> tuple[str, int, int]:
    try:
        name, regime = case.split("@")
        n, u = regime.lower().split("x")
        return name, int(n), int(u)
    except ValueError:
        raise SystemExit(f"error: case {case!r} is not CONFIG@NxU (e.g. ant_sac@64x8)") from None


def _compile(tree: str, name: str, n: int, u: int) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # a cache hit would hand both trees one program
    out = subprocess.run([sys.executable, "-c", WORKER, name, str(n), str(u), str(ITERATIONS)], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{name}@{n}x{u} in {tree} failed: {tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _reference_tree(commit: str, parent: str) -> str:
    path = os.path.join(parent, "reference")
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", "-q", path, commit], check=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.program_identity", description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", default=DEFAULT_REFERENCE, help="commit to compare with (default: before issue 18)")
    p.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated CONFIG@NxU")
    p.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "program_identity.json"))
    args = p.parse_args(argv)
    cases = [_parse_case(c) for c in args.cases.split(",") if c]
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout.strip())
    results = []
    with tempfile.TemporaryDirectory(prefix="largerl-program-identity-") as tmp:
        reference = _reference_tree(args.reference, tmp)
        try:
            for name, n, u in cases:
                ours, theirs = _compile(REPO, name, n, u), _compile(reference, name, n, u)
                same = ours["sha256"] == theirs["sha256"]
                results.append({"case": f"{name}@{n}x{u}", "identical": same, "ours": ours, "reference": theirs})
                print(f"{name}@{n}x{u}: {'IDENTICAL' if same else 'DIFFERENT'} optimised program "
                      f"({ours['instructions']} vs {theirs['instructions']} instructions)", flush=True)
        finally:
            subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", reference], check=False)
    report = {
        "command": "python -m benchmarks.program_identity " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.date.today().isoformat(), "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "head": head, "head_dirty": dirty, "reference": args.reference, "results": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    ok = all(r["identical"] for r in results)
    print(f"{'PASS' if ok else 'FAIL'}: {sum(r['identical'] for r in results)}/{len(results)} programs identical to "
          f"{args.reference[:7]}; {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
