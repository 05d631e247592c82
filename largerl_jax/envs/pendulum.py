"""Pure-JAX Pendulum swing-up with Gymnasium Pendulum-v1 dynamics and reward."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.envs.base import EnvSpec, EnvState, StepResult, env_keys, split_keys
from largerl_jax.envs.family import EnvFamily, register_env_family

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
G = 10.0
M = 1.0
L = 1.0


def angle_normalize(x: jax.Array) -> jax.Array:
    return ((x + jnp.pi) % (2 * jnp.pi)) - jnp.pi


def _obs(theta: jax.Array, thetadot: jax.Array) -> jax.Array:
    return jnp.stack([jnp.cos(theta), jnp.sin(theta), thetadot], axis=-1).astype(jnp.float32)


def _sample_one(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    k_th, k_thd = jax.random.split(key)
    theta = jax.random.uniform(k_th, (), jnp.float32, -jnp.pi, jnp.pi)
    thetadot = jax.random.uniform(k_thd, (), jnp.float32, -1.0, 1.0)
    return theta, thetadot


def _sample_state(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One initial state per env key [N, 2]."""
    return jax.vmap(_sample_one)(keys)


def pendulum_dynamics(theta, thetadot, torque):
    """One Pendulum-v1 step on already-clipped torque; returns (theta', thetadot', reward)."""
    # Gymnasium charges the cost on the state *before* the update.
    cost = angle_normalize(theta) ** 2 + 0.1 * thetadot**2 + 0.001 * torque**2
    new_thetadot = thetadot + (3 * G / (2 * L) * jnp.sin(theta) + 3.0 / (M * L**2) * torque) * DT
    new_thetadot = jnp.clip(new_thetadot, -MAX_SPEED, MAX_SPEED)
    # Gymnasium integrates theta with the *clipped new* velocity (semi-implicit Euler).
    new_theta = theta + new_thetadot * DT
    return new_theta, new_thetadot, -cost


class PendulumVecEnv:
    """``num_envs`` pendulums; never terminates, truncates at ``episode_length``."""

    def __init__(self, num_envs: int, episode_length: int = 200):
        self.num_envs = int(num_envs)
        self.spec = EnvSpec(name="pendulum", obs_dim=3, act_dim=1, episode_length=int(episode_length))

    def reset(self, key: jax.Array) -> EnvState:
        keys, draw = split_keys(env_keys(key, self.num_envs))
        theta, thetadot = _sample_state(draw)
        return EnvState(
            obs=_obs(theta, thetadot),
            t=jnp.zeros((self.num_envs,), jnp.int32),
            key=keys,
            inner=(theta, thetadot),
        )

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepResult]:
        theta, thetadot = state.inner
        n = theta.shape[0]  # the state's batch: num_envs, or S * num_envs when folded over seeds
        torque = MAX_TORQUE * jnp.clip(action.reshape(n), -1.0, 1.0).astype(jnp.float32)
        theta, thetadot, reward = pendulum_dynamics(theta, thetadot, torque)
        next_obs = _obs(theta, thetadot)
        t = state.t + 1
        truncated = t >= self.spec.episode_length

        # Cheap enough to sample fresh states every step and select, which avoids a cond.
        keys, draw = split_keys(state.key)
        theta0, thetadot0 = _sample_state(draw)
        theta = jnp.where(truncated, theta0, theta)
        thetadot = jnp.where(truncated, thetadot0, thetadot)
        new_state = EnvState(
            obs=jnp.where(truncated[:, None], _obs(theta, thetadot), next_obs),
            t=jnp.where(truncated, 0, t).astype(jnp.int32),
            key=keys,
            inner=(theta, thetadot),
        )
        result = StepResult(
            next_obs=next_obs,
            reward=reward.astype(jnp.float32),
            terminated=jnp.zeros((n,), jnp.float32),
            truncated=truncated.astype(jnp.float32),
            invalid=jnp.zeros((n,), jnp.float32),
        )
        return new_state, result


EPISODE_LENGTH = 200  # Gymnasium's Pendulum-v1 time limit

FAMILY = register_env_family(EnvFamily(
    name="pendulum", matches=lambda name: name == "pendulum", names=lambda: ["pendulum"],
    make=lambda name, n, backend, length, seed, repeat: PendulumVecEnv(n, length or EPISODE_LENGTH),
))
