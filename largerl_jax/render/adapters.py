"""How each env family is pictured: one adapter per family, all MuJoCo ones through MujocoCamera.

A MuJoCo family needs only a *source*: ``source(env) -> (mj_model, to_data, dt)``, where
``to_data(state)`` returns an ``MjData`` of ``mj_model`` holding the first env of ``state`` with
its kinematics computed (``state`` is the EnvState of a JAX env, None for a host env, which
reads its live simulator) and ``dt`` is the simulated seconds per agent step (None if unknown).
Add a family with ``register_mujoco_family(matches, source)``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import mujoco
import numpy as np

from largerl_jax.envs import BraxVecEnv, GymVecEnv, PendulumVecEnv
from largerl_jax.envs import pendulum as pendulum_env
from largerl_jax.envs.dmc_pixels import DMCPixelVecEnv
from largerl_jax.envs.playground_env import PlaygroundVecEnv
from largerl_jax.render.mujoco_camera import MujocoCamera
from largerl_jax.render.pendulum_drawing import draw_pendulum

MujocoSource = tuple[mujoco.MjModel, Callable[[Any], mujoco.MjData], "float | None"]


@dataclasses.dataclass
class View:
    """``frame(state, action)`` -> uint8 [H, W, 3] of an env's first env; ``action`` (that
    env's action, or None) is only drawn where the picture has room for it."""

    frame: Callable[[Any, Any], np.ndarray]
    dt: float | None
    close: Callable[[], None] = lambda: None


_MUJOCO_FAMILIES: list[tuple[Callable[[Any], bool], Callable[[Any], MujocoSource]]] = []


def register_mujoco_family(matches: Callable[[Any], bool], source: Callable[[Any], MujocoSource]) -> None:
    """Later registrations are tried first, so a family can override a built-in one."""
    _MUJOCO_FAMILIES.insert(0, (matches, source))


def _forward(model, data):
    mujoco.mj_forward(model, data)  # tracking cameras need the centres of mass, not just poses
    return data


def _brax_source(env: BraxVecEnv) -> MujocoSource:
    brax_env = env._env  # the Brax env the wrapper steps
    model = brax_env.sys.mj_model
    data = mujoco.MjData(model)

    def to_data(state):
        # every Brax pipeline (MJX, generalized, positional, spring) keeps q and qd
        ps = state.inner.pipeline_state
        data.qpos[:] = np.asarray(ps.q[0])
        data.qvel[:] = np.asarray(ps.qd[0])
        return _forward(model, data)

    return model, to_data, float(brax_env.dt)


def _gym_source(env: GymVecEnv) -> MujocoSource:
    sim = env._vec.envs[0].unwrapped  # the Gymnasium MujocoEnv of env 0
    return sim.model, lambda _state: sim.data, float(sim.dt)


def _playground_source(env: PlaygroundVecEnv) -> MujocoSource:
    task = env._env  # the Playground MjxEnv the wrapper steps
    model = task.mj_model
    data = mujoco.MjData(model)

    def to_data(state):
        mjx_data = state.inner.data
        data.qpos[:] = np.asarray(mjx_data.qpos[0])
        data.qvel[:] = np.asarray(mjx_data.qvel[0])
        if model.nmocap:  # e.g. targets placed by the task at reset
            data.mocap_pos[:] = np.asarray(mjx_data.mocap_pos[0])
            data.mocap_quat[:] = np.asarray(mjx_data.mocap_quat[0])
        return _forward(model, data)

    return model, to_data, float(task.dt)


register_mujoco_family(lambda env: isinstance(env, BraxVecEnv), _brax_source)
register_mujoco_family(lambda env: isinstance(env, GymVecEnv), _gym_source)
register_mujoco_family(lambda env: isinstance(env, PlaygroundVecEnv), _playground_source)


def _dm_control_source(env: DMCPixelVecEnv) -> MujocoSource:
    # A host env: its live physics of env 0, whose kinematics dm_control keeps current.
    physics = env._envs[0].physics
    return physics.model.ptr, lambda _state: physics.data.ptr, float(env._envs[0].control_timestep())


register_mujoco_family(lambda env: isinstance(env, DMCPixelVecEnv), _dm_control_source)


def _unwrapped(env):
    # wrappers such as envs.ActionRepeat keep the inner env's EnvState, so its view applies
    while hasattr(env, "env") and hasattr(env, "repeat"):
        env = env.env
    return env


def _pendulum_view(env: PendulumVecEnv, width: int, height: int) -> View:
    def frame(state, action):
        torque = None if action is None else float(np.asarray(action).reshape(-1)[0])
        return draw_pendulum(float(np.asarray(state.inner[0])[0]), width, height, torque)

    return View(frame, pendulum_env.DT)


def view_for(env, width: int, height: int, camera: str | int | None = None) -> View:
    """The View of ``env`` (any supported family) at width x height. ``dt`` is the inner
    env's, per simulator step: wrappers that repeat actions are looked through."""
    env = _unwrapped(env)
    if isinstance(env, PendulumVecEnv):
        if camera not in (None, -1, "-1"):
            raise ValueError("pendulum is drawn in 2D and has no cameras; leave --camera out")
        return _pendulum_view(env, width, height)
    for matches, source in _MUJOCO_FAMILIES:
        if matches(env):
            model, to_data, dt = source(env)
            cam = MujocoCamera(model, width, height, camera)
            return View(lambda state, _action: cam.frame(to_data(state)), dt, cam.close)
    raise NotImplementedError(
        f"no renderer for {type(env).__name__}; add its family with largerl_jax.render.register_mujoco_family"
    )
