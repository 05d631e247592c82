"""DeepMind Control Suite tasks from states, as MuJoCo Playground's MJX re-implementations.

Built with ``impl="jax"`` (plain MJX): Playground 0.2.0 defaults to its Warp backend, which is
several times slower on CPU and which we never use. We keep Brax-style auto-reset of our own so
the true final observation reaches the learner (see ``brax_env``).

Episodes: 1000 control steps with action repeat 1, as Playground ships them; action repeat is
``envs.action_repeat.ActionRepeat``. No DMC task ends early, so the time limit is a truncation;
Playground's only ``done`` is a NaN in the physics state, which we report as ``invalid``.

Comparing with published DMC numbers: Playground keeps dm_control's control timestep on every
task but integrates three of them with smaller physics steps, so their dynamics (and returns)
are not identical to ``dm_control``'s: FingerSpin 0.005 s (dm_control 0.01 s, and Playground
also switches its integrator to implicitfast), ReacherEasy/ReacherHard 0.005 s (0.02 s),
PendulumSwingup 0.01 s (0.02 s).
"""
from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.envs.base import EnvSpec, EnvState, StepResult, split_keys
from largerl_jax.envs.family import EnvFamily, register_env_family
from largerl_jax.envs.resets import initial_state, reset_where
from largerl_jax.envs.playground_fixes import ensure_reacher_builds
from largerl_jax.envs.quiet import third_party_noise_filtered

PREFIX = "dmc/"
# The 15 tasks of Bjorck et al. 2021 (Table 3), then the humanoid tasks of SimBa's and BRO's
# DMC-hard (Playground has no Dog tasks), by Playground name.
DMC_TASKS = tuple(PREFIX + name for name in (
    "BallInCup",
    "CartpoleBalance",
    "CartpoleBalanceSparse",
    "CartpoleSwingup",
    "CartpoleSwingupSparse",
    "CheetahRun",
    "FingerSpin",
    "HopperHop",
    "HopperStand",
    "PendulumSwingup",
    "ReacherEasy",
    "ReacherHard",
    "WalkerRun",
    "WalkerStand",
    "WalkerWalk",
    "HumanoidStand",
    "HumanoidWalk",
    "HumanoidRun",
))


def _flat_obs(obs) -> jax.Array:
    """[N, obs_dim] float32 whether a task observes an array or a dict of arrays (keys sorted)."""
    if isinstance(obs, Mapping):
        parts = [obs[k] for k in sorted(obs)]
        return jnp.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=-1).astype(jnp.float32)
    return obs.reshape(obs.shape[0], -1).astype(jnp.float32)


def _check_action_bounds(name: str, mj_model) -> None:
    # Playground passes actions straight to ctrl; every task here is [-1, 1], so no rescaling.
    ctrl = np.asarray(mj_model.actuator_ctrlrange)
    if not np.allclose(ctrl, [-1.0, 1.0]) or not np.all(mj_model.actuator_ctrllimited):
        raise ValueError(f"playground task {name!r} has ctrlrange {ctrl.tolist()}, expected [-1, 1]")


def _load(task: str):
    """(Playground env, its config after our override)."""
    with third_party_noise_filtered():
        from mujoco_playground import dm_control_suite  # heavy import, only when a task is built

        if task.startswith("Reacher"):
            ensure_reacher_builds()
        config = dm_control_suite.get_default_config(task)
        return dm_control_suite.load(task, config=config, config_overrides={"impl": "jax"}), config


class PlaygroundVecEnv:
    """``num_envs`` copies of a Playground DM Control task (``"dmc/CheetahRun"`` or
    ``"CheetahRun"``); ``episode_length`` defaults to the task's own (1000)."""

    def __init__(self, name: str, num_envs: int, episode_length: int | None = None):
        task = name.removeprefix(PREFIX)
        if PREFIX + task not in DMC_TASKS:
            raise ValueError(f"unknown DM Control task {name!r}; available: {list(DMC_TASKS)}")
        env, config = _load(task)
        _check_action_bounds(task, env.mj_model)
        self._env = env
        self.name = PREFIX + task
        self.num_envs = int(num_envs)
        # eval_shape: the shapes without running (or compiling) a reset
        obs = jax.eval_shape(jax.vmap(env.reset), jax.random.split(jax.random.PRNGKey(0), 1)).obs
        obs_dim = int(jax.eval_shape(_flat_obs, obs).shape[-1])
        self.spec = EnvSpec(
            name=self.name,
            obs_dim=obs_dim,
            act_dim=int(env.action_size),
            episode_length=int(episode_length or config.episode_length),
        )
        self._reset_batch = jax.vmap(env.reset)
        self._step_batch = jax.vmap(env.step)

    def reset(self, key: jax.Array) -> EnvState:
        return initial_state(self._reset_batch, key, self.num_envs, _flat_obs)

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        inner = self._step_batch(state.inner, jnp.clip(action, -1.0, 1.0))
        obs = _flat_obs(inner.obs)
        t = state.t + 1
        # A blown-up simulation ends its episode and is reset; its NaNs never reach the learner
        # (NaN * 0 in a target is still NaN). Playground's done flags NaN qpos/qvel only.
        finite = (
            jnp.isfinite(obs).all(axis=-1)
            & jnp.isfinite(inner.reward)
            & jnp.isfinite(inner.data.qpos).all(axis=-1)
            & jnp.isfinite(inner.data.qvel).all(axis=-1)
            & (inner.done < 0.5)
        )
        obs = jnp.where(finite[:, None], obs, 0.0)
        reward = jnp.where(finite, inner.reward, 0.0).astype(jnp.float32)
        terminated = ~finite
        truncated = (t >= self.spec.episode_length) & finite
        done = terminated | truncated
        result = StepResult(
            next_obs=obs,
            reward=reward,
            terminated=terminated.astype(jnp.float32),
            truncated=truncated.astype(jnp.float32),
            invalid=terminated.astype(jnp.float32),
        )

        keys, draw = split_keys(state.key)
        inner = reset_where(self._reset_batch, done, draw, inner)
        new_state = EnvState(
            obs=_flat_obs(inner.obs),  # the reset obs where done, else the (finite) stepped one
            t=jnp.where(done, 0, t).astype(jnp.int32),
            key=keys,
            inner=inner,
        )
        return new_state, result


FAMILY = register_env_family(EnvFamily(
    name="dm_control", matches=lambda name: name in DMC_TASKS, names=lambda: list(DMC_TASKS),
    make=lambda name, n, backend, length, seed, repeat: PlaygroundVecEnv(name, n, episode_length=length),
    dependency=("mujoco_playground", 'pip install "largerl-jax[dmc]" (or: pip install playground)'),
))
