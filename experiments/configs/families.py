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
            cfg.agent[net].widths = None  # TD3's default is 400-300
            cfg.agent[net].width = 64
    if algo == "td3":  # the setting the learning test was tuned with (TD3's published rate is 1e-3)
        cfg.agent.actor_lr = cfg.agent.critic_lr = 3e-4
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


# GPU throughput regime in the spirit of FastTD3 (Seo et al. 2025): thousands of envs acting with
# the latest policy and a few large-batch updates per iteration, so the update-to-data ratio is
# low (2 / 1024) and every update fills the accelerator. The numbers are our choice, not a
# paper's: FastTD3 uses batch 32768; 8192 keeps several vmapped seeds within one GPU's memory.
FAST_ENVS = 1024
FAST_UPDATES = 2
FAST_BATCH = 8192
FAST_ROWS_PER_ENV = 1000  # replay: 1000 rows per env ring, about 1M transitions in all
FAST_TASKS = ("ant", "halfcheetah", "hopper", "walker2d", "humanoid")


def fast_config(task: str) -> ml_collections.ConfigDict:
    """``TASK_sac_fast``: SAC 2 x 256 on the MJX task in the many-envs, few-updates regime."""
    cfg = locomotion_config(task, "sac", gym=False)
    cfg.env.num_envs = FAST_ENVS
    cfg.updates_per_iteration = FAST_UPDATES
    cfg.agent.batch_size = FAST_BATCH
    cfg.replay_capacity = FAST_ENVS * FAST_ROWS_PER_ENV
    cfg.warmup_env_steps = FAST_ENVS * 10
    cfg.total_env_steps = FAST_ENVS * 50_000  # 51.2M env steps, 100K gradient steps
    cfg.log_every_env_steps = FAST_ENVS * 500
    cfg.eval_every_env_steps = FAST_ENVS * 1_000
    cfg.checkpoint_every_env_steps = FAST_ENVS * 10_000
    return cfg


def experiment_config(name: str) -> ml_collections.ConfigDict:
    gym = name.startswith("gym_")
    rest = name[4:] if gym else name
    if not gym and rest.endswith("_sac_fast") and rest[: -len("_sac_fast")] in FAST_TASKS:
        cfg = fast_config(rest[: -len("_sac_fast")])
        cfg.name = name
        return cfg
    if name in paper_config_names():
        cfg = _paper("ant_sac_ours" if name == MAIN_JOB else rest, gym)
        cfg.name = name
        return cfg
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


def _paper(rest: str, gym: bool) -> ml_collections.ConfigDict:
    for task in LOCOMOTION:
        for algo in PAPER_ALGOS:
            for variant in PAPER_VARIANTS:
                if rest == f"{task}_{algo}_{variant}":
                    return paper_config(task, algo, variant, gym)
    if rest.startswith("ant_sac_small_") and not gym:
        return small_config(rest[len("ant_sac_small_"):])
    return extra_paper_config(rest, gym)


def config_names() -> list[str]:
    names = [f"pendulum_{a}" for a in ALGOS]
    for task in LOCOMOTION:
        names += [f"{task}_{a}" for a in ALGOS]
        names += [f"gym_{task}_{a}" for a in ALGOS]
    names += [f"{task}_sac_fast" for task in FAST_TASKS]
    return sorted(names + paper_config_names())


# --- Ota et al. 2021 -------------------------------------------------------------------------
# Table 1 columns, named after the table's headers. The design card's main job, ant_sac_ofe,
# is the full method, i.e. the same config as ant_sac_ours (the only '_ofe' name: the pruning
# paper's OFE baseline is TASK_xinet_ofe).
PAPER_VARIANTS = ("original", "ofenet", "ours")
MAIN_JOB = "ant_sac_ofe"
PAPER_ALGOS = {"sac": "sac_v1", "td3": "td3"}  # Ota et al. use SAC as in Haarnoja et al. 2018a
APEX_ENVS = 64  # A.1: N_core = 2 cores x N_env = 32 environments acting with the latest policy
# Env steps per gradient step in the Ape-X-like setting. The paper's actors run asynchronously
# at their own speed; 8 env steps per learner step is our choice, overridable through
# env.num_envs / updates_per_iteration.
APEX_UPDATES = 8
# Gymnasium Ant-v4 (111 dims): OFENet predicts the first 27 (no contact forces), as Ota et al. 2020.
PREDICT_PREFIX = {("ant", True): 27}
# Huber delta of the Ota et al. configs, per unit of reward scale. The paper gives none. Their
# TD targets are scaled rewards summed over ~1/(1-gamma) = 100 steps (thousands for SAC v1's
# scale 5 on Ant), so delta 1 made the loss almost pure L1. Ten scaled per-step rewards keeps
# the TD errors of a fitting critic in the quadratic zone and leaves only outliers (early
# training, rare transitions) on the linear one: 50 for SAC v1 (200 on Humanoid), 10 for TD3.
HUBER_DELTA_PER_REWARD_SCALE = 10.0
# Ota et al. ran every column with the OFENet authors' TensorFlow/Keras code, so the paper
# configs use Keras's layer defaults; the library's own configs keep Flax's (see networks.config).
KERAS_KERNEL_INIT = "glorot_uniform"
KERAS_BN_EPSILON = 1e-3


def _round_up(x: int, n: int) -> int:
    return -(-x // n) * n


def paper_config(task: str, algo: str, variant: str, gym: bool) -> ml_collections.ConfigDict:
    cfg = locomotion_config(task, PAPER_ALGOS[algo], gym)
    for net in ("actor", "critic", "value"):
        if net in cfg.agent:
            cfg.agent[net].kernel_init = KERAS_KERNEL_INIT
            cfg.agent[net].bn_epsilon = KERAS_BN_EPSILON
    cfg.agent.huber_delta = HUBER_DELTA_PER_REWARD_SCALE * cfg.agent.reward_scale
    if variant == "original":
        return cfg
    cfg.agent.features = "ofenet"  # 8 DenseNet layers x 256 units, swish, batch norm (A.2, A.4)
    cfg.agent.ofenet.predict_dims = PREDICT_PREFIX.get((task, gym))
    if variant == "ofenet":  # OFENet features with the original 2 x 256 networks (Ota et al. 2020)
        return cfg
    # 'ours': wide MLP-DenseNet heads (2 x 2048, swish; BN only for TD3, A.1), Huber critic loss,
    # Ape-X-like collection from 64 envs.
    for net in ("actor", "critic", "value"):
        if net in cfg.agent:
            t = cfg.agent[net]
            t.arch, t.widths, t.width, t.depth, t.activation = "densenet", None, 2048, 2, "swish"
            t.batch_norm = algo == "td3"
    cfg.agent.critic_loss = "huber"
    apex(cfg)
    return cfg


def apex(cfg, num_envs: int = APEX_ENVS, updates: int = APEX_UPDATES) -> None:
    """Ape-X-like collection: num_envs envs step with the latest policy, `updates` gradient steps
    follow; budgets keep 1M gradient steps and are rounded to multiples of num_envs."""
    cfg.env.num_envs = num_envs
    cfg.updates_per_iteration = updates
    cfg.prioritized_replay.enabled = True  # Ape-X's learner samples proportionally prioritized
    grad_steps = 1_000_000
    cfg.total_env_steps = grad_steps // updates * num_envs
    cfg.warmup_env_steps = _round_up(cfg.warmup_env_steps, num_envs)
    cfg.log_every_env_steps = 1000 // updates * num_envs  # 1000 gradient steps
    cfg.eval_every_env_steps = cfg.log_every_env_steps * 5  # 5000 gradient steps
    cfg.checkpoint_every_env_steps = cfg.eval_every_env_steps * 20


# Figure 10 ablations on Ant (SAC): each removes one element of the full method.
def ablation_config(name: str, gym: bool) -> ml_collections.ConfigDict:
    cfg = paper_config("ant", "sac", "ours", gym)
    if name == "full":
        return cfg
    if name == "no_apex":  # one env step per gradient step, as the original SAC
        for k, v in locomotion_config("ant", "sac_v1", gym).items():
            if k in ("env", "total_env_steps", "warmup_env_steps", "updates_per_iteration", "log_every_env_steps",
                     "eval_every_env_steps", "checkpoint_every_env_steps"):
                cfg[k] = v
        cfg.env.name = "Ant-v4" if gym else "ant"
        cfg.prioritized_replay.enabled = False
    elif name == "no_ofe":
        cfg.agent.features = "raw"
    elif name == "no_large":  # 256 instead of 2048 units: OFENet 8 x 32 (256 features), heads 256
        cfg.agent.ofenet.units = 32
        for net in ("actor", "critic", "value"):
            cfg.agent[net].width = 256
    elif name == "no_dense":
        for net in ("actor", "critic", "value"):
            cfg.agent[net].arch = "mlp"
    else:
        raise KeyError(name)
    return cfg


ABLATIONS = ("full", "no_apex", "no_ofe", "no_large", "no_dense")
ACTIVATION_TASKS = ("halfcheetah", "ant", "humanoid")  # Figure 13
ARCHS = ("mlp", "resnet", "densenet", "d2rl")  # Sec. 4.2 architecture comparison
ARCH_WIDTHS = (128, 2048)


def extra_paper_config(rest: str, gym: bool) -> ml_collections.ConfigDict:
    """ant_sac_ablation_X, TASK_sac_act_{swish,relu}, ant_sac_arch_ARCH_WIDTH."""
    if rest.startswith("ant_sac_ablation_"):
        return ablation_config(rest[len("ant_sac_ablation_"):], gym)
    for task in ACTIVATION_TASKS:
        for act in ("swish", "relu"):
            if rest == f"{task}_sac_act_{act}":
                cfg = paper_config(task, "sac", "ours", gym)
                for net in ("actor", "critic", "value"):
                    cfg.agent[net].activation = act
                return cfg
    for arch in ARCHS:
        for width in ARCH_WIDTHS:
            if rest == f"ant_sac_arch_{arch}_{width}":
                # OFENet features, original collection; only the heads' architecture and width vary.
                cfg = paper_config("ant", "sac", "ofenet", gym)
                for net in ("actor", "critic", "value"):
                    t = cfg.agent[net]
                    t.arch, t.width, t.activation = arch, width, "swish"
                return cfg
    raise KeyError(rest)


def paper_config_names() -> list[str]:
    names = []
    for prefix in ("", "gym_"):
        for task in LOCOMOTION:
            for algo in PAPER_ALGOS:
                names += [f"{prefix}{task}_{algo}_{v}" for v in PAPER_VARIANTS]
        names += [f"{prefix}ant_sac_ablation_{a}" for a in ABLATIONS]
        names += [f"{prefix}{t}_sac_act_{a}" for t in ACTIVATION_TASKS for a in ("swish", "relu")]
        names += [f"{prefix}ant_sac_arch_{a}_{w}" for a in ARCHS for w in ARCH_WIDTHS]
    return names + [MAIN_JOB] + [f"ant_sac_small_{v}" for v in ("original", "ours", "no_apex")]


# Reduced-scale CPU check (docs/results.md): the full method shrunk to fit a 2-core CPU against
# the original SAC of the same width, compared at equal gradient steps. The learner is
# compute-bound on this CPU (OFENet features widen the heads' inputs: 27 -> 155 state dims, 35 ->
# 291 state-action dims here), so OFENet is 8 x 16 units (128 features) rather than 8 x 32, which
# buys 60K gradient steps for three seeds of both methods in about 70 minutes (run side by side).
SMALL_GRAD_STEPS = 60_000
SMALL_EVAL_EVERY_GRAD_STEPS = 5_000


def small_config(variant: str) -> ml_collections.ConfigDict:
    if variant == "original":
        cfg = paper_config("ant", "sac", "original", gym=False)
        cfg.total_env_steps = cfg.warmup_env_steps + SMALL_GRAD_STEPS
        cfg.log_every_env_steps = cfg.eval_every_env_steps = SMALL_EVAL_EVERY_GRAD_STEPS
    elif variant == "ours":
        cfg = ablation_config("no_large", gym=False)  # DenseNet 2 x 256 heads on OFENet features
        cfg.agent.ofenet.units = 16
        apex(cfg, num_envs=8, updates=1)
        cfg.warmup_env_steps = 10_000
        cfg.total_env_steps = cfg.warmup_env_steps + SMALL_GRAD_STEPS * 8
        cfg.log_every_env_steps = cfg.eval_every_env_steps = SMALL_EVAL_EVERY_GRAD_STEPS * 8
    elif variant == "no_apex":  # "ours" with one env step per gradient step and uniform replay
        cfg = small_config("ours")
        cfg.env.num_envs = 1
        cfg.prioritized_replay.enabled = False
        cfg.total_env_steps = cfg.warmup_env_steps + SMALL_GRAD_STEPS
        cfg.log_every_env_steps = cfg.eval_every_env_steps = SMALL_EVAL_EVERY_GRAD_STEPS
    else:
        raise KeyError(variant)
    cfg.checkpoint_every_env_steps = cfg.eval_every_env_steps * 4  # resumable with --resume
    cfg.env.eval_episodes = 5
    cfg.replay_capacity = 200_000
    return cfg
