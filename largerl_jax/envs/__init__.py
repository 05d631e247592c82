"""Vectorized environments: pure-JAX Pendulum, Brax/MJX tasks, DeepMind Control tasks (MuJoCo Playground,
MJX) with an action-repeat wrapper, and host-side Gymnasium MuJoCo."""
from largerl_jax.envs.action_repeat import ActionRepeat
from largerl_jax.envs.base import EnvSpec, EnvState, HostVecEnv, JaxVecEnv, StepResult, fold_envs, split_keys, unfold_envs
from largerl_jax.envs.brax_env import BraxVecEnv
from largerl_jax.envs.gym_env import GymVecEnv
from largerl_jax.envs.pendulum import PendulumVecEnv
from largerl_jax.envs.playground_env import DMC_TASKS, PlaygroundVecEnv
from largerl_jax.envs.registry import available_envs, check_env, is_host_env, make_env

__all__ = [
    "ActionRepeat",
    "DMC_TASKS",
    "PlaygroundVecEnv",
    "BraxVecEnv",
    "EnvSpec",
    "EnvState",
    "GymVecEnv",
    "HostVecEnv",
    "JaxVecEnv",
    "PendulumVecEnv",
    "StepResult",
    "available_envs",
    "check_env",
    "fold_envs",
    "split_keys",
    "unfold_envs",
    "is_host_env",
    "make_env",
]
