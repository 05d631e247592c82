"""Train an agent: ``python -m experiments.run --config=NAME [--config.KEY=VALUE ...]
[--seeds=S] [--workdir=DIR] [--resume] [--wandb[=PROJECT]]``.

All S seeds run in one jit(vmap(...)) program. DIR receives config.json, metrics.jsonl (one JSON
object per seed and evaluation) and Orbax checkpoints of the whole train state.

Exit codes: 0 done; 2 bad input (config, override, workdir, memory); 3 every seed diverged;
4 done, but some seeds diverged (frozen at their last finite state, see metrics.jsonl).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from experiments.cli import add_wandb_flags, config_from_args, wandb_settings
from experiments.configs import is_grid, list_configs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="experiment name, e.g. pendulum_sac, ant_sac, gym_ant_sac")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds vmapped in one program")
    p.add_argument("--workdir", default=None, help="output directory (default: runs/NAME-TIMESTAMP)")
    p.add_argument("--resume", action="store_true", help="continue the run in --workdir from its last checkpoint (or start it if the folder holds none, "
                   "so a preemptible job can always pass --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list-configs", action="store_true", help="print every config name and exit")
    add_wandb_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if "--list-configs" in (sys.argv[1:] if argv is None else argv):
        print("\n".join(list_configs()))
        return 0
    args, cfg = config_from_args(parser, argv)
    workdir = args.workdir or os.path.join("runs", f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")

    if args.seeds < 1:
        print(f"error: --seeds must be at least 1, got {args.seeds}", file=sys.stderr)
        return 2
    from largerl_jax.training import DiskFullError, DivergenceError, run, validate  # heavy imports after argument checks

    if is_grid(args.config):
        print(f"error: {args.config} is a grid; run it with python -m experiments.grid --config={args.config}", file=sys.stderr)
        return 2
    try:
        validate(cfg)
        wandb = wandb_settings(args)
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    resume = args.resume and os.path.exists(os.path.join(workdir, "config.json"))
    print(f"config {cfg.name}: {args.seeds} seed(s), workdir {workdir}", file=sys.stderr)
    try:
        records = run(cfg, workdir=workdir, num_seeds=args.seeds, resume=resume, progress=not args.no_progress,
                      wandb=wandb)
    except (ValueError, FileExistsError, FileNotFoundError, MemoryError, ImportError, DiskFullError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except DivergenceError as e:
        print(f"diverged: {e}", file=sys.stderr)
        return 3
    final = [r for r in records if r["env_steps"] == records[-1]["env_steps"]] if records else []
    for r in final:
        if r.get("diverged"):
            score = (f"; reports its last evaluation, {r['eval_return']:.1f} at env step {r['eval_carried_from_env_steps']}"
                     if r.get("eval_carried") else "")
            print(f"seed {r['seed']}: diverged at env step {r['diverged_at_env_steps']} ({r['first_nonfinite']}), "
                  f"frozen since{score}")
        else:
            print(f"seed {r['seed']}: env_steps {r['env_steps']} eval_return {r['eval_return']:.1f}")
    dead = sum(bool(r.get("diverged")) for r in final)
    if dead:
        print(f"{dead} of {len(final)} seeds diverged; the others finished", file=sys.stderr)
    return 4 if dead else 0

if __name__ == "__main__":
    sys.exit(main())
