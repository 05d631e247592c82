"""Frames to a video file: GIF through Pillow, MP4 through imageio's FFmpeg backend."""
from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np

FORMATS = (".mp4", ".gif")
MP4_HINT = "pip install imageio-ffmpeg"


def can_write_mp4() -> bool:
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def check_video_path(path: str) -> None:
    """Raises ValueError for a format that cannot be written here, before anything is rendered."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"cannot write {path!r}: the video file must end in {' or '.join(FORMATS)}")
    if ext == ".mp4" and not can_write_mp4():
        raise ValueError(f"writing MP4 needs imageio's FFmpeg backend, which is not installed: {MP4_HINT} (or write a .gif)")


def write_video(path: str, frames: list[np.ndarray], fps: float) -> None:
    check_video_path(path)
    if not frames:
        raise ValueError("no frames to write")
    import imageio.v3 as iio

    stack = np.stack(frames)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.lower().endswith(".gif"):
        # GIF frame times are whole hundredths of a second
        duration_ms = 10 * max(1, round(100 / fps))
        iio.imwrite(path, stack, plugin="pillow", extension=".gif", duration=duration_ms, loop=0)
    else:
        with warnings.catch_warnings():
            # the encoder is a subprocess that execs at once, so JAX's threads never run forked
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            # macro_block_size=1: otherwise sizes that are not multiples of 16 are resized
            iio.imwrite(path, stack, plugin="FFMPEG", extension=".mp4", fps=fps, macro_block_size=1)
