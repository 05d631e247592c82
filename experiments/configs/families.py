"""Experiment configs generated from one parameterised function per family.

A name is ``[gym_]TASK_ALGO``: TASK is pendulum or a locomotion task, ``gym_`` selects the
Gymnasium MuJoCo v4 task on the CPU instead of the Brax/MJX one, ALGO is sac | sac_v1 | td3.
These are the "original" baselines (2 x 256 MLPs, one env step per gradient step); the paper
variants (OFENet, wide DenseNet, Ape-X-like collection) extend ``experiment_config``.
"""
from __future__ import annotations

import ml_collections

from largerl_jax.training import run_config

# Brax/MJX task name -> Gymnasium id. Ant-v4 is made with contact forces: 111 observation dims as
# in Ota et al. (Ant-v2); the Brax Ant omits them (27 dims).
LOCOMOTION = {
    "hopper": "Hopper-v4",
    "walker2d": "Walker2d-v4",
    "halfcheetah": "HalfCheetah-v4",
    "ant": "Ant-v4",
    "humanoid": "Humanoid-v4",
}
ALGOS = ("sac", "sac_v1", "td3")

# Random-action warm-up before learning (Ota et al. 2021, A.4): 10K steps for SAC, 100K for TD3.
WARMUP = {"sac": 10_000, "sac_v1": 10_000, "td3": 100_000}
# Haarnoja et al. 2018a reward scales for SAC v1 (Humanoid 20, others 5).
SAC_V1_REWARD_SCALE = {"humanoid": 20.0}


def pendulum_config(algo: str) -> ml_collections.ConfigDict:
    """Pendulum swing-up for fast learning checks: small budget, 4 envs and 4 updates per
    iteration (update-to-data ratio 1, as the 1-env baseline, with a quarter of the iterations)."""
    cfg = run_config(agent=algo, env="pendulum")
    cfg.env.num_envs = 4
    cfg.updates_per_iteration = 4
    cfg.env.eval_episodes = 10
    cfg.total_env_steps = 20_000 if algo != "td3" else 30_000
    cfg.warmup_env_steps = 1_000
    cfg.replay_capacity = 100_000
    cfg.log_every_env_steps = 2_000
    cfg.eval_every_env_steps = 2_000
    cfg.checkpoint_every_env_steps = 10_000
    # 2 x 64 networks: Pendulum needs little capacity, and on a 2-core CPU a 64-wide update is
    # ~8x cheaper than a 256-wide one, which keeps the learning tests to a few minutes.
    for net in ("actor", "critic", "value"):
        if net in cfg.agent:
            cfg.agent[net].width = 64
    if algo == "sac_v1":
        cfg.agent.reward_scale = 1.0  # pendulum rewards are already O(1)-O(10) per step
    return cfg


def locomotion_config(task: str, algo: str, gym: bool) -> ml_collections.ConfigDict:
    """The original-algorithm baselines on MuJoCo locomotion: 2 x 256 ReLU MLPs, one env and one
    gradient step per iteration, 1M env steps, evaluation every 10K steps over 10 episodes."""
    env_name = LOCOMOTION[task] if gym else task
    cfg = run_config(agent=algo, env=env_name)
    cfg.env.episode_length = 1000
    cfg.env.num_envs = 1
    cfg.updates_per_iteration = 1
    cfg.total_env_steps = 1_000_000
    cfg.warmup_env_steps = WARMUP[algo]
    cfg.replay_capacity = 1_000_000
    cfg.log_every_env_steps = 5_000
    cfg.eval_every_env_steps = 10_000
    cfg.checkpoint_every_env_steps = 100_000
    if algo == "sac_v1":
        cfg.agent.reward_scale = SAC_V1_REWARD_SCALE.get(task, 5.0)
    return cfg


def experiment_config(name: str) -> ml_collections.ConfigDict:
    gym = name.startswith("gym_")
    rest = name[4:] if gym else name
    for algo in sorted(ALGOS, key=len, reverse=True):  # 'sac_v1' before 'sac'
        if rest.endswith("_" + algo):
            task = rest[: -len(algo) - 1]
            break
    else:
        raise KeyError(name)
    if task == "pendulum" and not gym:
        cfg = pendulum_config(algo)
    elif task in LOCOMOTION:
        cfg = locomotion_config(task, algo, gym)
    else:
        raise KeyError(name)
    cfg.name = name
    return cfg


def config_names() -> list[str]:
    names = [f"pendulum_{a}" for a in ALGOS]
    for task in LOCOMOTION:
        names += [f"{task}_{a}" for a in ALGOS]
        names += [f"gym_{task}_{a}" for a in ALGOS]
    return sorted(names)
