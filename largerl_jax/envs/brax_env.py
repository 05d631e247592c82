"""Brax tasks (MJX or Brax's own pipelines) batched with our own auto-reset.

Brax's training wrappers overwrite the final observation with the reset one; we keep it in
``StepResult.next_obs`` so time-limit truncations can be bootstrapped correctly.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.envs.base import EnvSpec, EnvState, StepResult, split_keys
from largerl_jax.envs.family import EnvFamily, register_env_family
from largerl_jax.envs.brax_fixes import patch_system
from largerl_jax.envs.quiet import third_party_noise_filtered
from largerl_jax.envs.resets import initial_state, reset_where

BRAX_TASKS = ("ant", "halfcheetah", "hopper", "walker2d", "humanoid", "inverted_pendulum", "reacher")
BRAX_BACKENDS = ("mjx", "generalized", "positional", "spring")

# These tasks map [-1, 1] onto their actuator ctrlrange inside Brax's own step(); every other
# task has ctrlrange [-1, 1] (checked in __init__), so no rescaling is ever needed on our side.
_SELF_SCALING = ("humanoid", "inverted_pendulum")


def _check_action_bounds(name: str, sys) -> None:
    if name in _SELF_SCALING:
        return
    ctrl = np.asarray(sys.actuator.ctrl_range)
    if not np.allclose(ctrl, [-1.0, 1.0]):
        raise ValueError(f"brax task {name!r} has ctrl_range {ctrl.tolist()}, expected [-1, 1]")


class BraxVecEnv:
    """``num_envs`` copies of a Brax task; termination = Brax ``done``, truncation = our counter."""

    def __init__(self, name: str, num_envs: int, backend: str = "mjx", episode_length: int = 1000):
        if name not in BRAX_TASKS:
            raise ValueError(f"unknown brax task {name!r}; available: {list(BRAX_TASKS)}")
        if backend not in BRAX_BACKENDS:
            raise ValueError(f"unknown brax backend {backend!r}; available: {list(BRAX_BACKENDS)}")
        with third_party_noise_filtered():
            from brax import envs as brax_envs  # heavy import, only when a Brax task is built

            env = brax_envs.get_environment(name, backend=backend)
        env.sys = patch_system(name, backend, env.sys)
        _check_action_bounds(name, env.sys)

        self._env = env
        self.name = name
        self.backend = backend
        self.num_envs = int(num_envs)
        # eval_shape instead of env.observation_size: the latter runs an eager, op-by-op reset.
        obs_dim = int(jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs.shape[-1])
        self.spec = EnvSpec(
            name=name, obs_dim=obs_dim, act_dim=int(env.action_size), episode_length=int(episode_length)
        )
        self._reset_batch = jax.vmap(env.reset)
        self._step_batch = jax.vmap(env.step)

    def reset(self, key: jax.Array) -> EnvState:
        return initial_state(self._reset_batch, key, self.num_envs, lambda obs: obs.astype(jnp.float32))

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        action = jnp.clip(action, -1.0, 1.0)
        inner = self._step_batch(state.inner, action)
        t = state.t + 1
        # Last line of defence after the solver settings in brax_fixes: a blown-up simulation
        # ends the episode and is reset, and its NaNs never reach the learner (terminated
        # transitions are not bootstrapped, but NaN * 0 is still NaN in a target).
        finite = jnp.isfinite(inner.obs).all(axis=-1) & jnp.isfinite(inner.reward)
        inner = inner.replace(
            obs=jnp.where(finite[:, None], inner.obs, 0.0),
            reward=jnp.where(finite, inner.reward, 0.0),
        )
        terminated = (inner.done > 0.5) | ~finite
        truncated = (t >= self.spec.episode_length) & ~terminated
        done = terminated | truncated
        result = StepResult(
            next_obs=inner.obs.astype(jnp.float32),
            reward=inner.reward.astype(jnp.float32),
            terminated=terminated.astype(jnp.float32),
            truncated=truncated.astype(jnp.float32),
            invalid=(~finite).astype(jnp.float32),
        )

        keys, draw = split_keys(state.key)
        inner = reset_where(self._reset_batch, done, draw, inner)
        new_state = EnvState(
            obs=inner.obs.astype(jnp.float32),
            t=jnp.where(done, 0, t).astype(jnp.int32),
            key=keys,
            inner=inner,
        )
        return new_state, result


EPISODE_LENGTH = 1000  # Brax's training default

FAMILY = register_env_family(EnvFamily(
    name="brax", matches=lambda name: name in BRAX_TASKS, names=lambda: list(BRAX_TASKS),
    make=lambda name, n, backend, length, seed, repeat: BraxVecEnv(
        name, n, backend=backend or BRAX_BACKENDS[0], episode_length=length or EPISODE_LENGTH),
    backends=BRAX_BACKENDS, dependency=("brax", "pip install brax mujoco-mjx"),
))
