"""Render the trained deterministic policy of a run: ``python -m experiments.video --workdir=DIR
[--out=FILE.mp4|.gif] [--seed-index=I] [--episodes=N] [--max-steps=T] [--width=W] [--height=H]
[--fps=F] [--camera=NAME|INDEX]``.

The policy comes from DIR's newest complete checkpoint; its env is rebuilt from DIR/config.json.
Exit codes: 0 written; 2 bad input (folder, option, missing video backend or OpenGL).
"""
from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco: headless rendering

import argparse  # noqa: E402
import sys  # noqa: E402

from largerl_jax.training.run_folder import open_run  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.video", description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="run folder written by experiments.run")
    p.add_argument("--out", default=None, help="video file, .mp4 or .gif (default DIR/policy.mp4, or .gif without imageio-ffmpeg)")
    p.add_argument("--seed-index", type=int, default=None, help="which seed of the run (default: best final eval_return)")
    p.add_argument("--episodes", type=int, default=1, help="episodes, one after another in the video")
    p.add_argument("--max-steps", type=int, default=None, help="agent steps per episode at most (default: the env's time limit)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--fps", type=float, default=None, help="frame rate (default: real time)")
    p.add_argument("--camera", default=None, help="model camera name or index, -1 for a free camera (default: the model's first camera)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run = open_run(args.workdir)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from largerl_jax import render  # heavy imports after the cheap checks

    camera = args.camera
    if camera is not None and camera.lstrip("-").isdigit():
        camera = int(camera)
    cfg, seeds = run.cfg, run.seeds
    try:
        out = args.out or os.path.join(args.workdir, "policy.mp4" if render.can_write_mp4() else "policy.gif")
        render.check_options(out, args.episodes, args.max_steps, args.width, args.height, args.fps)
        index = run.seed_index(args.seed_index)
        policy, meta = render.load_policy(run, index)
        episodes, fps = render.record(
            cfg, policy, out, episodes=args.episodes, max_steps=args.max_steps,
            width=args.width, height=args.height, fps=args.fps, camera=camera,
        )
    except (ValueError, FileNotFoundError, ImportError, NotImplementedError, render.RenderUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    returns = ", ".join(f"{e.episode_return:.1f}" + ("" if e.ended else f" (cut at {e.steps} steps)") for e in episodes)
    print(
        f"{out}: seed {seeds[index]} (index {index}) at env step {meta.get('env_steps')}, "
        f"{len(episodes)} episode(s), return {returns}, {fps:.3g} fps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
