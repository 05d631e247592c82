"""Episodes of a policy in a run config's env, written to one video file."""
from __future__ import annotations

import math
from typing import Callable

from largerl_jax.envs import is_host_env, make_env
from largerl_jax.render.adapters import view_for
from largerl_jax.render.rollout import Episode, run_episodes
from largerl_jax.render.video_file import check_video_path, write_video
from largerl_jax.training.config import env_kwargs
from largerl_jax.training.precision import matmul_precision

MAX_REAL_TIME_FPS = 50  # GIF players cap frame rates near this; faster sims drop frames instead
FALLBACK_FPS = 30


def playback(dt: float | None, action_repeat: int, fps: float | None) -> tuple[float, int]:
    """(frames per second, keep every k-th frame): real time unless ``fps`` is given."""
    if fps is not None:
        return float(fps), 1
    if not dt:
        return float(FALLBACK_FPS), 1
    steps_per_second = 1.0 / (dt * action_repeat)
    stride = max(1, math.ceil(steps_per_second / MAX_REAL_TIME_FPS))
    return steps_per_second / stride, stride


def check_options(out: str, episodes: int, max_steps: int | None, width: int, height: int, fps: float | None) -> None:
    """Raises ValueError for options ``record`` cannot honour, before anything is built."""
    check_video_path(out)
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}")
    if min(width, height) < 1:
        raise ValueError(f"frame size {width}x{height} must be positive")
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")


def record(
    cfg,
    policy: Callable,
    out: str,
    *,
    episodes: int = 1,
    max_steps: int | None = None,
    width: int = 320,
    height: int = 240,
    fps: float | None = None,
    camera: str | int | None = None,
    seed: int = 0,
) -> tuple[list[Episode], float]:
    """Runs ``episodes`` episodes of ``policy`` (obs [1, obs_dim] -> action [1, act_dim]) in one
    env of ``cfg`` (episode i reset from ``seed + i``) and writes their frames to ``out`` (.gif
    or .mp4). Returns the episodes and the frame rate written."""
    check_options(out, episodes, max_steps, width, height, fps)
    env = make_env(cfg.env.name, 1, seed=seed, **env_kwargs(cfg))
    view = None
    try:
        view = view_for(env, width, height, camera)
        limit = max_steps or env.spec.episode_length
        with matmul_precision(cfg.matmul_precision):
            stack = cfg.agent.get("frame_stack") if env.spec.frame_shape is not None else None
            done = run_episodes(env, policy, view, limit, [seed + i for i in range(episodes)], stack)
    finally:
        if view is not None:
            view.close()
        if is_host_env(env):
            env.close()
    rate, stride = playback(view.dt, cfg.env.get("action_repeat", 1), fps)
    write_video(out, [f for e in done for f in e.frames[::stride]], rate)
    return done, rate
