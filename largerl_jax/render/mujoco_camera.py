"""Offscreen MuJoCo rendering: one RGB frame of an MjData through a GL context of our choosing."""
from __future__ import annotations

import importlib
import os

import mujoco
import numpy as np

_CONTEXTS = {"egl": "mujoco.egl", "osmesa": "mujoco.osmesa", "glfw": "mujoco.glfw"}
_FIX = {
    "egl": "install Mesa's EGL (apt-get install libegl1 libgl1-mesa-dri) or a GPU driver",
    "osmesa": "install OSMesa (apt-get install libosmesa6) or use MUJOCO_GL=egl",
    "glfw": "GLFW needs a display; headless machines use MUJOCO_GL=egl",
}


class RenderUnavailable(RuntimeError):
    """No OpenGL context could be made for MuJoCo's renderer."""


def _context_class(backend: str):
    return importlib.import_module(_CONTEXTS[backend]).GLContext


def _gl_context(width: int, height: int):
    # mujoco.Renderer takes the GL backend that MUJOCO_GL named when mujoco was first imported,
    # and largerl_jax.envs imports mujoco long before anything renders; so the context is made
    # here from MUJOCO_GL as it is now.
    backend = os.environ.get("MUJOCO_GL", "egl").strip().lower() or "egl"
    if backend not in _CONTEXTS:
        raise RenderUnavailable(f"MUJOCO_GL={backend!r} is not one of {', '.join(_CONTEXTS)}; use MUJOCO_GL=egl")
    try:
        context = _context_class(backend)(width, height)
        context.make_current()
    except Exception as e:  # missing libraries show up as ImportError, OSError, AttributeError, GL errors...
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise RenderUnavailable(
            f"cannot open an OpenGL context for MuJoCo rendering with MUJOCO_GL={backend} ({reason}); {_FIX[backend]}"
        ) from None
    return context


class MujocoCamera:
    """Renders frames of ``model`` at width x height from ``camera``: a camera name or index of
    the model, -1 for a free camera looking at the model's centre, or None for the model's
    first camera if it has one (the tracking camera of the locomotion XMLs), else the free one."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int, camera: str | int | None = None):
        # the offscreen buffer must hold the frame; the XML's default is 640 x 480
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self.model, self.width, self.height = model, width, height
        self.camera = _camera(model, camera)
        self._gl = _gl_context(width, height)
        self._scene = mujoco.MjvScene(model, maxgeom=10_000)
        self._option = mujoco.MjvOption()
        self._context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._rect = mujoco.MjrRect(0, 0, width, height)

    def frame(self, data: mujoco.MjData) -> np.ndarray:
        """uint8 [height, width, 3] of ``data`` (whose kinematics must be computed)."""
        self._gl.make_current()
        mujoco.mjv_updateScene(self.model, data, self._option, None, self.camera, mujoco.mjtCatBit.mjCAT_ALL, self._scene)
        mujoco.mjr_render(self._rect, self._scene, self._context)
        pixels = np.empty((self.height, self.width, 3), np.uint8)
        mujoco.mjr_readPixels(pixels, None, self._rect, self._context)
        return np.flipud(pixels).copy()  # OpenGL rows run bottom-up

    def close(self) -> None:
        if self._gl is not None:
            self._gl.make_current()
            self._context.free()
            self._gl.free()
            self._gl = None


def _camera(model: mujoco.MjModel, camera: str | int | None) -> mujoco.MjvCamera:
    cam = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, cam)
    if camera is None:
        camera = 0 if model.ncam > 0 else -1
    if isinstance(camera, str) and not camera.lstrip("-").isdigit():
        index = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        if index < 0:
            names = [model.camera(i).name or str(i) for i in range(model.ncam)]
            raise ValueError(f"no camera {camera!r} in the model; cameras: {', '.join(names) or 'none'} (or -1, the free camera)")
        camera = index
    camera = int(camera)
    if camera == -1:
        return cam
    if not 0 <= camera < model.ncam:
        raise ValueError(f"camera index {camera} out of range: the model has {model.ncam} camera(s); -1 is the free camera")
    cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
    cam.fixedcamid = camera
    return cam
