"""Videos of policies: every MuJoCo-based env family through one offscreen MuJoCo renderer,
the pure-JAX Pendulum through a NumPy drawing; GIF or MP4 files."""
import os

# Headless machines render through EGL; an explicit MUJOCO_GL (osmesa, glfw) still wins.
os.environ.setdefault("MUJOCO_GL", "egl")

from largerl_jax.render.adapters import View, register_mujoco_family, view_for  # noqa: E402
from largerl_jax.render.mujoco_camera import MujocoCamera, RenderUnavailable  # noqa: E402
from largerl_jax.render.pendulum_drawing import draw_pendulum  # noqa: E402
from largerl_jax.render.policy import load_policy  # noqa: E402
from largerl_jax.render.policy_video import check_options, record  # noqa: E402
from largerl_jax.render.rollout import Episode, run_episodes  # noqa: E402
from largerl_jax.render.video_file import can_write_mp4, check_video_path, write_video  # noqa: E402

__all__ = [
    "Episode",
    "MujocoCamera",
    "RenderUnavailable",
    "View",
    "can_write_mp4",
    "check_options",
    "check_video_path",
    "draw_pendulum",
    "load_policy",
    "record",
    "register_mujoco_family",
    "run_episodes",
    "view_for",
    "write_video",
]
