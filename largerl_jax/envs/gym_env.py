"""Gymnasium MuJoCo tasks stepped on the host CPU, for numbers comparable with the papers."""
from __future__ import annotations

import numpy as np

from largerl_jax.envs.base import EnvSpec

GYM_TASKS = ("Ant", "HalfCheetah", "Hopper", "Walker2d", "Humanoid")
GYM_VERSIONS = ("v4", "v5")
GYM_IDS = tuple(f"{task}-{v}" for v in GYM_VERSIONS for task in GYM_TASKS)

# Ant-v4 leaves contact forces out by default (27 dims); the papers use the 111-dim
# observation that includes them. Ant-v5 already includes them by default (105 dims,
# the always-zero world-body forces dropped).
_MAKE_KWARGS = {"Ant-v4": {"use_contact_forces": True}}


class GymVecEnv:
    """``num_envs`` Gymnasium envs in one process, auto-reset in the same step."""

    def __init__(self, env_id: str, num_envs: int, seed: int = 0, episode_length: int | None = None):
        import gymnasium as gym  # only hosts that run Gymnasium tasks need it

        if env_id not in GYM_IDS:
            raise ValueError(f"unknown gymnasium env {env_id!r}; available: {list(GYM_IDS)}")
        kwargs = dict(_MAKE_KWARGS.get(env_id, {}))
        if episode_length is not None:
            kwargs["max_episode_steps"] = int(episode_length)

        def make_one():
            return gym.make(env_id, disable_env_checker=True, **kwargs)

        # SAME_STEP resets a finished env inside step() and hands back its true last
        # observation in info["final_obs"], which is what bootstrapping needs.
        self._vec = gym.vector.SyncVectorEnv(
            [make_one] * int(num_envs), autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
        self.num_envs = int(num_envs)
        self._seed = int(seed)
        self._reset_done = False

        act_space = self._vec.single_action_space
        self._act_low = np.asarray(act_space.low, np.float64)
        self._act_high = np.asarray(act_space.high, np.float64)
        obs_dim = int(np.prod(self._vec.single_observation_space.shape))
        limit = self._vec.envs[0].spec.max_episode_steps
        self.spec = EnvSpec(
            name=env_id, obs_dim=obs_dim, act_dim=int(act_space.shape[0]), episode_length=int(limit)
        )

    def reset(self, seed: int | None = None) -> np.ndarray:
        obs, _ = self._vec.reset(seed=self._seed if seed is None else int(seed))
        self._reset_done = True
        return np.asarray(obs, np.float32)

    def step(self, action) -> tuple[np.ndarray, dict]:
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        a = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        scaled = self._act_low + (a + 1.0) * 0.5 * (self._act_high - self._act_low)
        obs, reward, terminated, truncated, info = self._vec.step(scaled)
        obs = np.asarray(obs, np.float32)

        next_obs = obs.copy()
        finished = info.get("_final_obs")
        if finished is not None:
            for i in np.flatnonzero(finished):
                next_obs[i] = info["final_obs"][i]
        # TimeLimit can flag both on the same step; termination wins (no bootstrap).
        truncated = np.logical_and(truncated, np.logical_not(terminated))
        return obs, {
            "next_obs": next_obs,
            "reward": np.asarray(reward, np.float32),
            "terminated": np.asarray(terminated, np.float32),
            "truncated": truncated.astype(np.float32),
        }

    def close(self) -> None:
        self._vec.close()
