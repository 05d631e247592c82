"""Export the trained deterministic policy of a run to one NumPy file: ``python -m
experiments.export --workdir=DIR [--out=FILE.npz] [--seed-index=I]``.

The file holds the acting part only (OFENet's state features if the agent has them, then the
policy) and runs without JAX: ``from largerl_jax.export import load_policy; policy =
load_policy(FILE); action = policy(obs)`` (the loader, largerl_jax/export/numpy_policy.py,
imports NumPy alone and may be copied on its own). The policy comes from DIR's newest complete
checkpoint; before the file is kept, its actions on random observations are checked against
the agent's own.
Exit codes: 0 written; 1 the file does not reproduce the agent's actions (a bug; nothing is
kept); 2 bad input (folder, seed index, output path, checkpoint of another layout).
"""
from __future__ import annotations

import argparse
import os
import sys

from largerl_jax.training.run_folder import open_run

# Largest |NumPy action - JAX action| accepted: both run float32, so only summation order and
# the folded spectral norm's rounding differ (about 1e-6 in practice).
TOLERANCE = 1e-4


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.export", description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="run folder written by experiments.run")
    p.add_argument("--out", default=None, help="policy file to write (default DIR/policy.npz)")
    p.add_argument("--seed-index", type=int, default=None, help="which seed of the run (default: best final eval_return)")
    return p


def _check_out(out: str) -> None:
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--out {out!r}: folder {folder} does not exist")
    if os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a folder; name the .npz file to write")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run = open_run(args.workdir)
        out = args.out or os.path.join(args.workdir, "policy.npz")
        _check_out(out)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # heavy imports after the cheap checks
    from largerl_jax.export import load_policy
    from largerl_jax.export import writer

    seeds = run.seeds
    try:
        index = run.seed_index(args.seed_index)
        restored = run.restore(index)
        info = {"seed": seeds[index], "seed_index": index, "env_steps": restored.meta.get("env_steps")}
        contents = writer.policy_contents(
            restored.agent, restored.state, writer.acting_obs_shape(restored.agent, restored.spec), run.cfg.name,
            info=info,
        )
        writer.write_policy(out, contents)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    policy = load_policy(out)
    diff = writer.max_action_difference(restored.agent, restored.state, policy)
    if not diff <= TOLERANCE:
        os.remove(out)
        print(f"error: the exported policy's actions differ from the agent's by up to {diff:.3g} (> {TOLERANCE:g}); "
              f"{out} removed. Please report this as a bug of largerl_jax.export", file=sys.stderr)
        return 1
    print(
        f"{out}: {policy.agent} policy of seed {seeds[index]} (index {index}) at env step {info['env_steps']}, "
        f"obs {list(policy.obs_shape)} {policy.obs_dtype} -> {policy.act_dim} actions, "
        f"{os.path.getsize(out) / 1e6:.3g} MB, max |NumPy - JAX action| {diff:.2g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
