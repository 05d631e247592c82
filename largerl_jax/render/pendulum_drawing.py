"""A 2D picture of the pure-JAX Pendulum, which has no MuJoCo model to render, drawn with NumPy."""
from __future__ import annotations

import numpy as np

BACKGROUND = (245, 245, 240)
ROD = (70, 70, 80)
BOB = (200, 60, 50)
PIVOT = (20, 20, 20)
TARGET = (170, 210, 170)
TORQUE = (60, 110, 200)


def _paint(image: np.ndarray, coverage: np.ndarray, color) -> None:
    a = np.clip(coverage, 0.0, 1.0)[..., None]
    image[:] = image * (1.0 - a) + np.asarray(color, np.float64) * a


def _segment_distance(px, py, x0, y0, x1, y1):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))


def draw_pendulum(theta: float, width: int, height: int, torque: float | None = None) -> np.ndarray:
    """uint8 [height, width, 3]: theta 0 is upright (the goal), increasing counter-clockwise as
    in Gymnasium's Pendulum-v1; ``torque`` in [-1, 1] is drawn as a bar under the pivot."""
    image = np.empty((height, width, 3), np.float64)
    image[:] = BACKGROUND
    # pixel centres, with y pointing up from the pivot
    py, px = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    scale = 0.38 * min(width, height)
    cx, cy = width / 2.0, height / 2.0
    px, py = px - cx, cy - py
    thick = max(scale * 0.07, 1.0)
    # edges of every shape are one pixel wide ramps of coverage, a cheap anti-aliasing
    _paint(image, thick / 2 + 0.5 - np.abs(np.hypot(px, py - scale) - thick * 0.9), TARGET)
    tip_x, tip_y = -np.sin(theta) * scale, np.cos(theta) * scale
    _paint(image, thick / 2 + 0.5 - _segment_distance(px, py, 0.0, 0.0, tip_x, tip_y), ROD)
    _paint(image, thick * 1.6 + 0.5 - np.hypot(px - tip_x, py - tip_y), BOB)
    _paint(image, thick * 0.8 + 0.5 - np.hypot(px, py), PIVOT)
    if torque is not None:
        level = float(np.clip(torque, -1.0, 1.0)) * scale
        bar_y = -scale * 1.2
        _paint(image, thick / 2 + 0.5 - _segment_distance(px, py, 0.0, bar_y, -level, bar_y), TORQUE)
    return np.round(image).astype(np.uint8)
