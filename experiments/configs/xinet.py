"""The pruning paper ("Online Training and Pruning of Deep RL Networks"; spec
``shared/design/xinet.md``): ``[gym_]TASK_xinet_VARIANT`` for TASK in halfcheetah, ant, hopper,
walker2d and VARIANT in sac, sac_big, ofe, ofe_big, prune_a, prune_b, prune_c.

Sizes (spec 6.1, [R]): SAC 2 x 256; SAC-Big 2 x 1024; OFE 32 units per layer with 2 x 256 SAC;
OFE-Big 128 with 2 x 512; Prune-A/B/C start from OFE-Big with everything prunable. OFE layers:
8 for HalfCheetah, 6 otherwise (each of phi_s and phi_sa). ``gym_`` runs the Gymnasium v4 task
(Ant with contact forces: 111 dims, the paper's v2 sizes, so parameter counts match Table 4);
without it the MJX/Brax task (Ant 27 dims).

SAC is the OFENet reference code's SAC v1 (spec Sec. 5): reward scale 5, fixed temperature,
gamma 0.99, tau 0.005, batch 256, replay 1M, Adam 3e-4 everywhere, ReLU, log-std in [-20, 2],
Glorot-uniform kernels, one OFE and one SAC update per env step, 10K random steps then 10K OFE
pre-training updates. OFENet: swish, batch norm, the diagonal pass-through of OFEXiNet in every
OFE variant (the paper counts it for its OFE baseline too), no target OFENet (the V target reads
the online features in evaluation mode), the whole next observation as the target ([C] spec 3.4).

Pruning hyperparameters (spec 6.2: Table 2 was lost, these are [C] starting points to tune):
gamma A = 1.0, B = C = 0.1; lambda_phi / lambda_M = 1e-7 / 1e-6 for B, x0.3 for A, x3 for C.
Budget [C]: 1M env steps for every task; evaluation every 10K steps over 10 episodes.
"""
from __future__ import annotations

import ml_collections

from largerl_jax.networks import torso_config
from largerl_jax.training import run_config

TASKS = {"halfcheetah": 8, "ant": 6, "hopper": 6, "walker2d": 6}  # task -> OFE layers
GYM_IDS = {"halfcheetah": "HalfCheetah-v4", "ant": "Ant-v4", "hopper": "Hopper-v4", "walker2d": "Walker2d-v4"}
VARIANTS = ("sac", "sac_big", "ofe", "ofe_big", "prune_a", "prune_b", "prune_c")
INFIX = "_xinet_"
# variant -> (OFE units per layer or None, SAC hidden width)
SIZES = {"sac": (None, 256), "sac_big": (None, 1024), "ofe": (32, 256), "ofe_big": (128, 512)}
# Prune-X -> (gamma, lambda multiple of B's)
PRUNE = {"prune_a": (1.0, 0.3), "prune_b": (0.1, 1.0), "prune_c": (0.1, 3.0)}
OFE_LAMBDA_B, RL_LAMBDA_B = 1e-7, 1e-6


def xinet_config(task: str, variant: str, gym: bool) -> ml_collections.ConfigDict:
    cfg = run_config(agent="sac_v1", env=GYM_IDS[task] if gym else task)
    cfg.env.episode_length = 1000
    cfg.env.num_envs = 1
    cfg.env.eval_episodes = 10
    cfg.updates_per_iteration = 1
    cfg.total_env_steps = 1_000_000
    cfg.warmup_env_steps = 10_000
    cfg.replay_capacity = 1_000_000
    cfg.log_every_env_steps = 5_000
    cfg.eval_every_env_steps = 10_000
    cfg.checkpoint_every_env_steps = 100_000
    ag = cfg.agent
    ag.reward_scale = 5.0
    ag.batch_size = 256
    units, width = SIZES["ofe_big" if variant in PRUNE else variant]
    for net in ("actor", "critic", "value"):
        ag[net] = torso_config(arch="mlp", width=width, depth=2, activation="relu", kernel_init="glorot_uniform")
    if units is not None:
        ag.features = "ofenet"
        ofe = ag.ofenet
        ofe.num_layers = TASKS[task]
        ofe.units = units
        ofe.passthrough = "diagonal"
        ofe.use_target = False
        ofe.batch_size = ag.batch_size
        ofe.pretrain_updates = 10_000
    if variant in PRUNE:
        gamma, scale = PRUNE[variant]
        p = ag.pruning
        p.enabled = True
        p.gamma = gamma
        p.ofe_lambda = OFE_LAMBDA_B * scale
        p.rl_lambda = RL_LAMBDA_B * scale
    return cfg


def xinet_config_names() -> list[str]:
    return [f"{g}{t}{INFIX}{v}" for g in ("", "gym_") for t in TASKS for v in VARIANTS]


def parse_xinet_name(name: str):
    """(task, variant, gym) for a ``[gym_]TASK_xinet_VARIANT`` name, or None."""
    gym = name.startswith("gym_")
    rest = name[4:] if gym else name
    if INFIX not in rest:
        return None
    task, variant = rest.split(INFIX, 1)
    return (task, variant, gym) if task in TASKS and variant in VARIANTS else None


def baseline_name(name: str) -> str | None:
    """The OFE baseline of the same task (the denominators of dR/tR), or None."""
    parsed = parse_xinet_name(name)
    if parsed is None:
        return None
    task, _, gym = parsed
    return f"{'gym_' if gym else ''}{task}{INFIX}ofe"


def deploy_train(tables: dict) -> dict | None:
    """Table 4's deploy/train counts of a SAC v1 agent (on OFENet features or not) from its
    trainable-parameter tables (experiments.inspect.network_tables), else None: deploy is
    phi_s and the policy, train adds phi_sa, the Qs and V (the predictor on its own)."""
    nets = tables["networks"]
    if not {"actor", "critic", "value"} <= set(nets):
        return None
    ofe = nets.get("ofenet", {"blocks": {}})["blocks"]
    deploy = ofe.get("phi_s", 0) + nets["actor"]["params"]
    train = deploy + ofe.get("phi_sa", 0) + nets["critic"]["params"] + nets["value"]["params"]
    return {"deploy": deploy, "train": train, "predictor": ofe.get("predictor", 0)}
