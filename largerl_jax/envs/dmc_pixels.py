"""DeepMind Control tasks from pixels (DrQ's setting), stepped on the host through ``dm_control``.

The reference suite rather than the MJX ports, so scores compare with DrQ (Kostrikov et al.) and
Bjorck et al.: 84x84 RGB from camera 0 (camera 2 for quadruped, as DrQ), action repeat 2 with the
rewards of the repeated steps summed, and DMC's time limit (1000 control steps, so 500 agent
steps) reported as truncation; an episode that ends inside a repeat stops there.

Observations are single frames, uint8 channels-last ``[N, size, size, 3]`` (channels-last is what
``flax.linen.Conv`` reads). The frame stack is not built here: the replay builds it from row
indices (``largerl_jax.replay.frames``), so each frame is stored once. For that the env reports
``info["episode_start"]``: 1.0 where the returned observation is the first frame of a new episode
(after ``reset()`` every frame is one).

Rendering goes through ``MUJOCO_GL`` (set to ``egl`` here when unset, before dm_control is
imported, since dm_control picks its backend at import). Mesa's software EGL renders on the CPU;
two settings make that cheaper: an offscreen buffer the size of the frame (same pixels), and a
512-texel shadow map instead of the models' 2048 (still six shadow texels per frame pixel), which
changed 0.1% of the pixels (shadow edges; mean difference under 0.06 of 255) over 20 steps of
six of DrQ's tasks, and made cheetah run step twice as fast (149 vs 74 frames/s, one env
on a contended 2-core CPU).
"""
from __future__ import annotations

import math
import os

import numpy as np

from largerl_jax.envs.base import EnvSpec
from largerl_jax.envs.family import EnvFamily, register_env_family

SHADOW_SIZE = 512
_FIX = "install Mesa's EGL (apt-get install libegl1 libgl1-mesa-dri) and set MUJOCO_GL=egl"
# names the configs use for a task whose dm_control name is longer
_ALIASES = {"ball_in_cup": ("ball_in_cup", "catch")}


class PixelRenderUnavailable(RuntimeError):
    """dm_control cannot render: no usable OpenGL backend (or dm_control itself is missing)."""


def _unavailable(e: BaseException) -> PixelRenderUnavailable:
    reason = ((str(e).strip().splitlines() or [type(e).__name__])[0])[:200]
    backend = os.environ.get("MUJOCO_GL")
    return PixelRenderUnavailable(f"dm_control cannot render with MUJOCO_GL={backend} ({reason}); {_FIX}")


def _import_suite():
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        from dm_control import suite
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "dm_control":
            raise
        raise PixelRenderUnavailable("DM Control from pixels needs dm_control: pip install dm_control") from None
    except (ImportError, OSError, RuntimeError, AttributeError) as e:
        # dm_control opens its EGL display at import, so EGL without a driver surfaces here
        raise _unavailable(e) from None
    _drop_fields_missing_from_mujoco()
    return suite


def _drop_fields_missing_from_mujoco():
    """dm_control indexes every MjModel/MjData array it has a size table for, and its table
    still lists flex fields that MuJoCo 4 removed (flex_vertedge, flexvert_J, ...), so building
    any Physics fails. The suite's tasks have no flex bodies: forgetting the fields this MuJoCo
    lacks is enough, and a no-op on a MuJoCo that has them."""
    import mujoco
    from dm_control.mujoco.wrapper.mjbindings import sizes

    for struct_name, cls in (("mjmodel", mujoco.MjModel), ("mjdata", mujoco.MjData)):
        table = sizes.array_sizes[struct_name]
        for field in [f for f in table if not hasattr(cls, f)]:
            del table[field]


def _camera(engine, physics, size: int, camera_id: int):
    """A dm_control camera; making it makes the physics' GL context, where a backend that
    imported fine (GLFW without a display, say) fails."""
    try:
        return engine.Camera(physics, height=size, width=size, camera_id=camera_id)
    except ValueError:  # a camera the model lacks: the caller's mistake, not the backend's
        raise
    except Exception as e:  # mujoco.FatalError, GLError, RuntimeError...
        raise _unavailable(e) from None


def dmc_task(name: str, suite) -> tuple[str, str]:
    """'cheetah_run' -> ('cheetah', 'run'): DrQ's ``domain_task`` names (or 'ball_in_cup')."""
    if name in _ALIASES:
        return _ALIASES[name]
    for domain, task in suite.ALL_TASKS:
        if name in (f"{domain}_{task}", f"{domain}-{task}"):
            return domain, task
    names = sorted(f"{d}_{t}" for d, t in suite.ALL_TASKS)
    raise ValueError(f"unknown DM Control task {name!r}; available: {names}")


class DMCPixelVecEnv:
    """``num_envs`` dm_control tasks rendered to uint8 frames, auto-reset in the same step."""

    steps_on_host = True  # a HostVecEnv (envs.is_host_env)

    def __init__(self, task: str, num_envs: int, seed: int = 0, action_repeat: int = 2, size: int = 84,
                 camera_id: int | None = None, episode_length: int | None = None):
        """``episode_length``: time limit in simulator steps, None for DMC's own (1000)."""
        if isinstance(action_repeat, bool) or not isinstance(action_repeat, int) or action_repeat < 1:
            raise ValueError(f"action repeat must be a positive int, got {action_repeat!r}")
        if episode_length is not None and (isinstance(episode_length, bool) or int(episode_length) < 1):
            raise ValueError(f"episode_length must be a positive number of simulator steps, got {episode_length!r}")
        suite = _import_suite()
        from dm_control.mujoco import engine
        from dm_control.rl import control

        self._physics_error = control.PhysicsError
        domain, task_name = dmc_task(task, suite)
        self.num_envs = int(num_envs)
        self.action_repeat = action_repeat
        self.frame_shape = (size, size, 3)
        self._seed = int(seed)
        camera = (2 if domain == "quadruped" else 0) if camera_id is None else int(camera_id)

        self._envs, self._cameras = [], []
        for i in range(self.num_envs):
            env = suite.load(domain, task_name, task_kwargs={"random": self._env_seed(self._seed, i)})
            if episode_length is not None:
                # the step count dm_control compares with; its time_limit is in seconds
                env._step_limit = int(episode_length)
            vis = env.physics.model.vis
            # read when the GL context is made, which the camera below does: set before it
            vis.quality.shadowsize = SHADOW_SIZE
            vis.global_.offwidth, vis.global_.offheight = size, size
            self._envs.append(env)
            # one camera per env, kept: physics.render would build (and free) a scene per frame
            self._cameras.append(_camera(engine, env.physics, size, camera))

        spec = self._envs[0].action_spec()
        self._act_low = np.asarray(spec.minimum, np.float64)
        self._act_high = np.asarray(spec.maximum, np.float64)
        limit = self._envs[0]._step_limit  # simulator (control) steps per episode
        self.spec = EnvSpec(
            name=f"{domain}_{task_name}",
            obs_dim=int(np.prod(self.frame_shape)),
            act_dim=int(spec.shape[0]),
            episode_length=math.ceil(limit / action_repeat),
            frame_shape=self.frame_shape,
        )
        self._reset_done = False

    @staticmethod
    def _env_seed(seed: int, i: int) -> int:
        # env 0 gets the run's seed itself, as DrQ's single env does
        return (seed + i) % 2**32

    def _render(self, i: int) -> np.ndarray:
        return self._cameras[i].render()

    def reset(self, seed: int | None = None) -> np.ndarray:
        seed = self._seed if seed is None else int(seed)
        for i, env in enumerate(self._envs):
            env.task.random.seed(self._env_seed(seed, i))
            env.reset()
        frames = np.stack([self._render(i) for i in range(self.num_envs)])
        self._reset_done = True
        return frames

    def _repeat(self, env, action) -> tuple[float, bool, bool, bool]:
        """(summed reward, terminated, truncated, invalid) of one agent step."""
        total = 0.0
        for _ in range(self.action_repeat):
            try:
                ts = env.step(action)
            except self._physics_error:
                return 0.0, True, False, True
            total += ts.reward or 0.0
            if ts.last():
                # DMC ends an episode with discount 1 at its time limit, 0 when the task failed
                terminated = ts.discount == 0.0
                return total, terminated, not terminated, False
        return total, False, False, False

    def step(self, action) -> tuple[np.ndarray, dict]:
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        a = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        scaled = self._act_low + (a + 1.0) * 0.5 * (self._act_high - self._act_low)
        n = self.num_envs
        out = {k: np.zeros((n,), np.float32) for k in ("reward", "terminated", "truncated", "invalid")}
        next_obs = np.empty((n,) + self.frame_shape, np.uint8)
        obs = np.empty_like(next_obs)
        for i, env in enumerate(self._envs):
            reward, terminated, truncated, invalid = self._repeat(env, scaled[i])
            out["reward"][i], out["terminated"][i] = reward, terminated
            out["truncated"][i], out["invalid"][i] = truncated, invalid
            # a blown-up state is not worth a picture; the zeros are never bootstrapped from
            next_obs[i] = 0 if invalid else self._render(i)
            if terminated or truncated:
                env.reset()
                obs[i] = self._render(i)
            else:
                obs[i] = next_obs[i]
        out["next_obs"] = next_obs
        out["episode_start"] = np.maximum(out["terminated"], out["truncated"])
        return obs, out

    def close(self) -> None:
        # dm_control's close() is a no-op; the GL contexts go with the physics
        for env, camera in zip(self._envs, self._cameras):
            camera.scene.free()
            env.physics.free()
        self._envs, self._cameras = [], []


# DM Control from pixels, stepped on the host through dm_control: 'dmc_pixels/<domain>_<task>'
# (DrQ's task names, e.g. dmc_pixels/cheetah_run). Tasks are checked when the env is built:
# listing them imports dm_control, which opens a GL display.
PREFIX = "dmc_pixels/"

FAMILY = register_env_family(EnvFamily(
    name="dm_control_pixels", matches=lambda name: name.startswith(PREFIX) and len(name) > len(PREFIX),
    names=lambda: [PREFIX + "<domain>_<task>, e.g. " + PREFIX + "cheetah_run"],
    make=lambda name, n, backend, length, seed, repeat: DMCPixelVecEnv(
        name[len(PREFIX):], n, seed=seed, action_repeat=repeat, episode_length=length),
    host=True, pixels=True, repeats_actions=True, dependency=("dm_control", 'pip install "largerl-jax[pixels]"'),
))
