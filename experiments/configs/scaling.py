"""Today's methods for scaling networks, on the library's tasks: ``[gym_]TASK_METHOD`` for MuJoCo
locomotion (MJX, or Gymnasium v4 with ``gym_``), ``dmc_TASK_METHOD`` for MuJoCo Playground's
DM Control ports and ``pendulum_METHOD`` for quick learning checks. METHOD: ``simba``,
``simbav2``, ``bro``,
``bro_fast`` (BRO's replay ratio 2 and single reset), ``crossq``, the parallel regime's
``fast_td3`` and ``fast_sac`` (and ``fast_td3_cpu``, ``fast_sac_cpu``, their CPU-sized variants:
see PARALLEL below), and the
compositions ``simba_sn`` (spectral normalisation on SimBa's critic), ``simba_ofenet`` and
``simbav2_ofenet`` (OFENet features under SimBa, SimbaV2).

The agents' own defaults are the authors' (agents/simba.py, agents/bro.py); these configs add
the run-level settings of the authors' training scripts (``RUN`` below for BRO's). SimBa's
(SonyResearch/simba, configs/base.yaml, configs/buffer/numpy_uniform.yaml,
configs/env/dmc_hard.yaml):

* 2 gradient steps per agent step (``updates_per_interaction_step: 2``), one env;
* 5000 agent steps of uniform random actions before learning (``min_length: 5_000``);
* 1M simulator steps (``num_env_steps``), replay of 1M rows (``max_length``);
* the discount from the effective episode length L = max_episode_steps / action_repeat
  (TD-MPC2's heuristic, base.yaml): gamma = clip((L/5 - 1) / (L/5), 0.95, 0.995);
* DMC: action repeat 2, episodes of 1000 simulator steps (500 agent steps, so gamma 0.99),
  non-episodic, so one critic (``critic_use_cdq: ${env.episodic}``);
* locomotion (our choice of settings, SimBa's code has no MuJoCo config): action repeat 1,
  1000-step episodes (gamma 0.995), two critics on the tasks that terminate (all but
  HalfCheetah);
* evaluation every 25,000 agent steps over 10 episodes (``evaluation_per_interaction_step``).

Playground has no Dog tasks (SimBa's DMC-hard includes dog-*), so only humanoid_{stand,walk,run}
of DMC-hard exist here.
"""
from __future__ import annotations

import ml_collections

from experiments.configs.dmc import DMC_TASKS, playground_name
from experiments.configs.families import LOCOMOTION
from largerl_jax.training import run_config

METHODS = ("simba", "simbav2", "bro", "bro_fast", "crossq", "fast_td3", "fast_sac")
DMC_SCALING_TASKS = DMC_TASKS + ("humanoid_stand", "humanoid_walk", "humanoid_run")
TERMINATING = {"hopper", "walker2d", "ant", "humanoid"}  # locomotion tasks whose episodes can end early
SIM_STEPS = 1_000_000
EVAL_EVERY = 25_000
DMC_ACTION_REPEAT = 2
# Run settings per method (updates per env step, random warm-up steps, evaluation episodes,
# action repeat on DMC where the method fixes one, None: DMC_ACTION_REPEAT):
# SimBa base.yaml / numpy_uniform.yaml; BRO train_parallel.py (updates_per_step 10, 2 for BRO
# (Fast); start_training 2500; eval_episodes 5; no action repeat in its DMC wrapper's call).
RUN = {
    "simba": {"updates": 2, "warmup": 5_000, "eval_episodes": 10, "action_repeat": None},
    # SimbaV2 configs/online_rl.yaml: updates_per_interaction_step = action_repeat (None here)
    "simbav2": {"updates": None, "warmup": 5_000, "eval_episodes": 10, "action_repeat": None},
    "bro": {"updates": 10, "warmup": 2_500, "eval_episodes": 5, "action_repeat": 1},
    "bro_fast": {"updates": 2, "warmup": 2_500, "eval_episodes": 5, "action_repeat": 1},
    # CrossQ (adityab/CrossQ, train.py): UTD 1 (utd: 1), 5000 random steps (learning_starts:
    # 5000); its paper evaluates MuJoCo only, so on DMC we take the library's action repeat
    "crossq": {"updates": 1, "warmup": 5_000, "eval_episodes": 10, "action_repeat": None},
}


# CrossQ's initial temperature on DMC. The authors' 1.0 (agents/crossq.py) comes from MuJoCo
# locomotion, whose rewards per step are several times DMC's (at most 1): on Playground cheetah
# run it did not learn in 10,000 updates (mean 0.3; replay actions as spread as the random
# warm-up's, temperature still 0.11), and at 0.1 the same cell reached 244; on walker walk, at
# 7,500 updates, 1.0 gave 24 / 27 / 23 (a random policy's level) and 0.1 gave 30 / 323 / 97
# (docs/results.md, the parallel regime's study, 2026-12-07). 0.1 is also SAC's DMC value
# (experiments/configs/dmc.py, Bjorck et al.). Ours, overridable with
# --config.agent.init_temperature.
DMC_CROSSQ_INIT_TEMPERATURE = 0.1


# The parallel regime (FastTD3, FastSAC): envs per seed, updates per vectorized step, the batch
# over all envs, replay rows per env ring, vectorized steps of the run and between evaluations,
# the discount, and the value range of the categorical critic on Playground DMC and on MJX
# locomotion. FastTD3: younggyoseo/FastTD3 fast_td3/hyperparams.py, MuJoCoPlaygroundArgs
# (HP:292-300: 1024 envs, 10,240 rows per env, gamma 0.97, v +-10) over BaseArgs (HP:31-123:
# batch 32,768, 2 updates, 150,000 vectorized steps, evaluation every 5,000). Ours: the same on
# MJX locomotion but v +-250 (BaseArgs' range; rewards there reach about 10 per step, so +-10
# would clip every good return) and no action repeat on DMC (FastTD3 steps Playground at its
# own control rate). The warm-up is one batch of random steps (32 vectorized steps at 1024 envs;
# FastTD3 starts updating after 10, acting with its noisy policy, but our runs require a full
# batch of distinct transitions before the first update).
PARALLEL = {
    "fast_td3": {"envs": 1024, "updates": 2, "batch": 32_768, "rows_per_env": 10_240, "iterations": 150_000,
                 "eval_every": 5_000, "gamma": 0.97, "dmc_v": 10.0, "locomotion_v": 250.0, "eval_episodes": 16},
    # FastSAC: holosoma config_types/algo.py (CT:192-306: batch 8192, 8 updates, 1024 rows per
    # env, gamma 0.97, v +-20) and config_types/experiment.py:64 (4096 envs); 50,000 iterations
    # (config_values/algo.py:61). Evaluation cadence ours, as FastTD3's.
    "fast_sac": {"envs": 4096, "updates": 8, "batch": 8192, "rows_per_env": 1024, "iterations": 50_000,
                 "eval_every": 5_000, "gamma": 0.97, "dmc_v": 20.0, "locomotion_v": 250.0, "eval_episodes": 16},
}
# DMC tasks with their own FastTD3 settings: CheetahRun (HP:376-385) n-step 3, v +-500, noise
# std from U[0.1, 0.4], target smoothing 0.1
FAST_TD3_DMC = {"cheetah_run": {"nstep": 3, "v": 500.0, "noise_low": 0.1, "policy_noise": 0.1}}
# The CPU-sized variant (METHOD_cpu): fewer envs and the same rows per env in each batch, for
# tests and studies on this machine's two cores
CPU_ENVS = 64


def discount(episode_length: int, action_repeat: int) -> float:
    """SimBa's (TD-MPC2's) discount heuristic for episodes of ``episode_length`` simulator steps."""
    horizon = episode_length / action_repeat / 5
    return float(min(max((horizon - 1) / horizon, 0.95), 0.995))


def _parallel(cfg, method: str, v_max: float, episode_length: int) -> None:
    """The parallel regime's run settings (PARALLEL) on a fresh run config."""
    run = PARALLEL[method]
    n = run["envs"]
    cfg.env.episode_length = episode_length
    cfg.env.num_envs = n
    cfg.env.eval_episodes = run["eval_episodes"]
    cfg.updates_per_iteration = run["updates"]
    cfg.agent.batch_size = run["batch"]
    cfg.agent.gamma = run["gamma"]
    cfg.agent.v_min, cfg.agent.v_max = -v_max, v_max
    cfg.total_env_steps = run["iterations"] * n
    cfg.warmup_env_steps = -(-run["batch"] // n) * n
    cfg.replay_capacity = run["rows_per_env"] * n
    cfg.log_every_env_steps = 500 * n
    cfg.eval_every_env_steps = run["eval_every"] * n
    cfg.checkpoint_every_env_steps = 5 * cfg.eval_every_env_steps


def _common(cfg, method: str, episode_length: int, action_repeat: int, episodic: bool) -> None:
    run = RUN[method]
    action_repeat = action_repeat if run["action_repeat"] is None else run["action_repeat"]
    cfg.env.episode_length = episode_length
    if action_repeat != 1:
        cfg.env.action_repeat = action_repeat
    cfg.env.num_envs = 1
    cfg.env.eval_episodes = run["eval_episodes"]
    cfg.updates_per_iteration = run["updates"] or action_repeat
    cfg.total_env_steps = SIM_STEPS // action_repeat
    cfg.warmup_env_steps = run["warmup"]
    cfg.replay_capacity = cfg.total_env_steps
    cfg.log_every_env_steps = 5_000
    cfg.eval_every_env_steps = EVAL_EVERY
    cfg.checkpoint_every_env_steps = 100_000
    if method in ("simba", "simbav2"):  # SimBa's discount heuristic, one critic on non-episodic tasks
        cfg.agent.gamma = discount(episode_length, action_repeat)
        cfg.agent.num_q = 2 if episodic else 1


def locomotion(task: str, method: str, gym: bool) -> ml_collections.ConfigDict:
    cfg = run_config(agent=method, env=LOCOMOTION[task] if gym else task)
    if method in PARALLEL:
        _parallel(cfg, method, PARALLEL[method]["locomotion_v"], 1000)
    else:
        _common(cfg, method, 1000, 1, task in TERMINATING)
    return cfg


def dmc(task: str, method: str) -> ml_collections.ConfigDict:
    cfg = run_config(agent=method, env=playground_name(task))
    if method not in PARALLEL:
        _common(cfg, method, 1000, DMC_ACTION_REPEAT, episodic=False)
        if method == "crossq":
            cfg.agent.init_temperature = DMC_CROSSQ_INIT_TEMPERATURE
        return cfg
    _parallel(cfg, method, PARALLEL[method]["dmc_v"], 1000)
    own = FAST_TD3_DMC.get(task, {}) if method == "fast_td3" else {}
    if own:
        cfg.nstep = own["nstep"]
        cfg.agent.v_min, cfg.agent.v_max = -own["v"], own["v"]
        cfg.agent.env_noise.low, cfg.agent.policy_noise = own["noise_low"], own["policy_noise"]
    return cfg


def pendulum(method: str) -> ml_collections.ConfigDict:
    """The learning check: the method's agent at small widths on Pendulum swing-up (200-step
    episodes: gamma 0.975 by the heuristic), 4 envs and 4 x the method's updates per env step
    per iteration, 8K env steps. Widths 16 (actor) and 32 (critic), inner 4x. The worst of 3
    seeds (2026-12-06, the 2-core dev VM): SimBa -215 at 6K env steps and -185 at 8K (in a 10K
    run; its rates are constant); SimbaV2 -177 in an 8K run (its rates decay over the run's
    length, so it was measured at 8K); BRO (Fast) -260 at 4K, -124 at 6K, -187 at 8K and -167 at
    10K (a 10K run; constant rates, one reset at 2001); CrossQ -237 at 4K, -133 at 6K and -156
    at 8K (its batch renormalization still in its plain batch-norm warm-up)."""
    if method in PARALLEL:
        return _parallel_pendulum(method)
    cfg = run_config(agent=method, env="pendulum")
    _common(cfg, method, 200, 1, episodic=False)
    cfg.env.num_envs = 4
    cfg.updates_per_iteration = 4 * (RUN[method]["updates"] or 1)
    cfg.total_env_steps = 8_000
    cfg.warmup_env_steps = 1_000
    cfg.replay_capacity = 100_000
    cfg.log_every_env_steps = cfg.eval_every_env_steps = 2_000
    cfg.checkpoint_every_env_steps = 8_000
    for net, width in (("actor", 16), ("actor_o", 16), ("critic", 32)):
        if net in cfg.agent:
            cfg.agent[net].width = width
    cfg.agent.critic.depth = 1
    if "resets" in cfg.agent and cfg.agent.resets.at_env_steps:
        cfg.agent.resets.at_env_steps = (2_001,)  # one reset, just after the warm-up, as BRO (Fast)
    if "n_quantiles" in cfg.agent:
        cfg.agent.n_quantiles = 32
    return cfg


def _parallel_pendulum(method: str) -> ml_collections.ConfigDict:
    """The parallel regime's learning check: 32 envs, a batch of 32 rows per env, 8K env steps
    (10K for FastTD3), small widths (actor 64-32-16, critic 128-64-32), v on [-800, 0]
    (Pendulum's rewards lie in [-16.3, 0], so returns discounted at 0.975 in [-650, 0]). 16
    updates per vectorized step
    (UTD 1/2): at FastTD3's 2 (UTD 1/16) 10K env steps are 640 updates and no seed learns
    (-1196 at best). FastTD3 runs 10,240 env steps: at 8K one seed of 3 was still at -483
    (2026-12-06, the 2-core dev VM and CI alike; the runs are deterministic), and a 6-seed run
    (seeds 0-5) gave worst -434 at 8K, -156 at 10K and -179 at 12K. FastSAC runs 8,192: the
    worst of 3 seeds -1252 at 4K, -216 at 6K, -229 at 8K (same day and machine)."""
    cfg = run_config(agent=method, env="pendulum")
    _parallel(cfg, method, 800.0, 200)
    cfg.agent.v_max = 0.0
    cfg.agent.gamma = discount(200, 1)
    n = cfg.env.num_envs = 32
    cfg.env.eval_episodes = 4
    cfg.agent.batch_size = 32 * n
    cfg.updates_per_iteration = 16
    cfg.total_env_steps = 10_240 if method == "fast_td3" else 8_192
    cfg.warmup_env_steps = cfg.agent.batch_size
    cfg.replay_capacity = 100 * 1024
    cfg.log_every_env_steps = cfg.eval_every_env_steps = 64 * n
    cfg.checkpoint_every_env_steps = cfg.total_env_steps
    cfg.agent.actor.widths, cfg.agent.actor.width = (64, 32, 16), 64
    cfg.agent.critic.widths, cfg.agent.critic.width = (128, 64, 32), 128
    return cfg


# The run keys counted in env steps, which must stay multiples of env.num_envs when it changes
ENV_STEP_FIELDS = ("total_env_steps", "warmup_env_steps", "replay_capacity", "log_every_env_steps",
                   "eval_every_env_steps", "checkpoint_every_env_steps")


def _cpu_sized(cfg) -> None:
    """The parallel regime at CPU_ENVS envs per seed: the batch keeps its rows per env (FastTD3:
    32), the run its vectorized steps and evaluation cadence."""
    n_old, n = cfg.env.num_envs, CPU_ENVS
    cfg.agent.batch_size = cfg.agent.batch_size // n_old * n
    for field in ENV_STEP_FIELDS:
        cfg[field] = cfg[field] // n_old * n
    cfg.env.num_envs = n


def _envs_4096(cfg) -> None:
    """FastTD3 at 4096 envs per seed (its IsaacLab count, HP:440-451), the batch and the replay's
    rows in all unchanged (so 8 rows per env in a batch, 2,560 rows per env ring): the GPU
    suite's second point of the parallel regime. Step counts that are not multiples of 4096 (the
    small pendulum check's) round up to one, since a vectorized step is 4096 env steps."""
    n = cfg.env.num_envs = 4096
    for field in ENV_STEP_FIELDS:
        cfg[field] = -(-cfg[field] // n) * n


def _spectral_critic(cfg) -> None:
    """Bjorck et al.'s spectral normalisation on the critic's intermediate layers (every block
    Dense; not the embedding or the output layer)."""
    cfg.agent.critic.spectral_norm = "intermediate"


def _ofenet_features(cfg) -> None:
    """Ota et al.'s OFENet features (agent.ofenet's defaults, features/config.py) under the
    method's networks; the observation normaliser stays outermost, so OFENet reads normalised
    observations."""
    cfg.agent.features = "ofenet"
    cfg.agent.ofenet.batch_size = cfg.agent.batch_size


# Compositions with the 2021 methods, METHOD = base_variant: the base method's config, then the
# change (the comparisons issue 20 asks for: does SN, does OFENet, still help a modern agent?)
VARIANTS = {"simba_sn": ("simba", _spectral_critic), "simba_ofenet": ("simba", _ofenet_features),
            "simbav2_ofenet": ("simbav2", _ofenet_features), "fast_td3_cpu": ("fast_td3", _cpu_sized),
            "fast_sac_cpu": ("fast_sac", _cpu_sized), "fast_td3_4096": ("fast_td3", _envs_4096)}


def scaling_config_names() -> list[str]:
    names = []
    for method in METHODS + tuple(VARIANTS):
        names.append(f"pendulum_{method}")
        names += [f"{p}{task}_{method}" for task in LOCOMOTION for p in ("", "gym_")]
        names += [f"dmc_{task}_{method}" for task in DMC_SCALING_TASKS]
    return sorted(names)


def scaling_config(name: str) -> ml_collections.ConfigDict | None:
    """The config of a scaling-method name, or None when ``name`` is not one."""
    for method in sorted(METHODS + tuple(VARIANTS), key=len, reverse=True):
        if not name.endswith("_" + method):
            continue
        if method in VARIANTS:
            base, change = VARIANTS[method]
            cfg = scaling_config(name[: -len(method)] + base)
            if cfg is not None:
                change(cfg)
                cfg.name = name
            return cfg
        rest = name[: -len(method) - 1]
        if rest == "pendulum":
            cfg = pendulum(method)
        elif rest.startswith("dmc_") and rest[4:] in DMC_SCALING_TASKS:
            cfg = dmc(rest[4:], method)
        elif rest.startswith("gym_") and rest[4:] in LOCOMOTION:
            cfg = locomotion(rest[4:], method, gym=True)
        elif rest in LOCOMOTION:
            cfg = locomotion(rest, method, gym=False)
        else:
            return None
        cfg.name = name
        return cfg
    return None
