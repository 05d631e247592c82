"""Gymnasium MuJoCo tasks stepped on the host CPU, for numbers comparable with the papers."""
from __future__ import annotations

import functools

import numpy as np

from largerl_jax.envs.base import EnvSpec
from largerl_jax.envs.family import EnvFamily, register_env_family

GYM_TASKS = ("Ant", "HalfCheetah", "Hopper", "Walker2d", "Humanoid")
GYM_VERSIONS = ("v4", "v5")
GYM_IDS = tuple(f"{task}-{v}" for v in GYM_VERSIONS for task in GYM_TASKS)

# Ant-v4 leaves contact forces out by default (27 dims); the papers use the 111-dim
# observation that includes them. Ant-v5 already includes them by default (105 dims,
# the always-zero world-body forces dropped).
_MAKE_KWARGS = {"Ant-v4": {"use_contact_forces": True}}

# MuJoCo's signs of a blown-up step; it then resets the physics by itself and carries on.
_UNSTABLE_WARNINGS = ("mjWARN_BADQPOS", "mjWARN_BADQVEL", "mjWARN_BADQACC")


@functools.cache
def _guard_class():
    import gymnasium as gym
    import mujoco

    codes = [int(getattr(mujoco.mjtWarning, w)) for w in _UNSTABLE_WARNINGS]

    class BlowUpGuard(gym.Wrapper):
        """Ends an episode whose physics blew up, and starts the next one from a known seed.

        This has to sit under the vector env: its same-step auto-reset clears MuJoCo's warning
        counters before the vector env's caller could read them."""

        def __init__(self, env, next_seed):
            super().__init__(env)
            self._next_seed = next_seed
            self.unstable = False  # whether the last step blew up (read after the auto-reset)
            self._reseed = False

        def step(self, action):
            warning = self.env.unwrapped.data.warning
            # MuJoCo leaves a count at 1 through later blow-ups (its own reset clears, then
            # counts), so only a count cleared right before the step says it was this step.
            for c in codes:
                warning[c].number = 0
            obs, reward, terminated, truncated, info = self.env.step(action)
            self.unstable = (
                any(warning[c].number for c in codes)
                or not np.isfinite(obs).all()
                or not np.isfinite(reward)
            )
            if not self.unstable:
                return obs, reward, terminated, truncated, info
            self._reseed = True
            obs = np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)
            # The reward spans MuJoCo's jump to its reset state, not a motion of the body.
            return obs, 0.0, True, False, info

        def reset(self, *, seed=None, options=None):
            if seed is None and self._reseed:
                seed = self._next_seed()
            self._reseed = False
            return self.env.reset(seed=seed, options=options)

    return BlowUpGuard


class GymVecEnv:
    """``num_envs`` Gymnasium envs in one process, auto-reset in the same step."""

    steps_on_host = True  # a HostVecEnv (envs.is_host_env)

    def __init__(self, env_id: str, num_envs: int, seed: int = 0, episode_length: int | None = None):
        import gymnasium as gym  # only hosts that run Gymnasium tasks need it

        if env_id not in GYM_IDS:
            raise ValueError(f"unknown gymnasium env {env_id!r}; available: {list(GYM_IDS)}")
        kwargs = dict(_MAKE_KWARGS.get(env_id, {}))
        if episode_length is not None:
            kwargs["max_episode_steps"] = int(episode_length)

        guard = _guard_class()

        def make_one():
            return guard(gym.make(env_id, disable_env_checker=True, **kwargs), self._blowup_seed)

        # SAME_STEP resets a finished env inside step() and hands back its true last
        # observation in info["final_obs"], which is what bootstrapping needs.
        self._vec = gym.vector.SyncVectorEnv(
            [make_one] * int(num_envs), autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
        self.num_envs = int(num_envs)
        self._seed = int(seed)
        self._episode_seed, self._blowups = self._seed, 0
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
        self._episode_seed = self._seed if seed is None else int(seed)
        self._blowups = 0
        obs, _ = self._vec.reset(seed=self._episode_seed)
        self._reset_done = True
        return np.asarray(obs, np.float32)

    def _blowup_seed(self) -> int:
        """The reset seed after a blow-up: a function of the last reset's seed and how many
        blow-ups followed it, so a rollout from ``reset(seed)`` stays reproducible."""
        self._blowups += 1
        return int(np.random.SeedSequence([self._episode_seed, self._blowups, 0xB10E]).generate_state(1)[0])

    def step(self, action) -> tuple[np.ndarray, dict]:
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        a = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        scaled = self._act_low + (a + 1.0) * 0.5 * (self._act_high - self._act_low)
        obs, reward, terminated, truncated, info = self._vec.step(scaled)
        obs = np.asarray(obs, np.float32)
        invalid = np.array([env.unstable for env in self._vec.envs], np.float32)

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
            "invalid": invalid,
        }

    def close(self) -> None:
        self._vec.close()


FAMILY = register_env_family(EnvFamily(
    name="gymnasium", matches=lambda name: "-v" in name and name in GYM_IDS, names=lambda: list(GYM_IDS),
    make=lambda name, n, backend, length, seed, repeat: GymVecEnv(name, n, seed=seed, episode_length=length),
    host=True, action_repeat=False, dependency=("gymnasium", 'pip install "gymnasium[mujoco]"'),
))
