"""Bjorck et al. 2021 ("Towards Deeper Deep RL") on the DeepMind Control suite:
``pixels_dmc_<task>_<head>[_sn]`` (the paper's setting) and ``dmc_<task>_<head>[_sn]``, e.g.
``dmc_cheetah_run_modern4_sn``.

The paper trains from pixels only (its Table 1 and Sec. 4: DrQ's SAC). The state configs
``dmc_*`` are this library's adaptation, not the paper's experiment: the same heads and Table 3
hyperparameters on the tasks' proprioceptive states, cheap enough for CPU studies and for
seeing the heads' stability without the encoder. Numbers from them are not comparable with the
paper's; ``pixels_dmc_*`` are.

Tasks: the 15 of Kostrikov et al. (DrQ) that the paper uses, run through MuJoCo Playground's MJX
ports (env ``dmc/<CamelCaseName>``; their finger, reacher and pendulum timesteps differ from
dm_control's, so compare those with published numbers with care).

Heads (App. C; only the actor and critic heads vary):
* ``mlp2`` / ``mlp4``: ReLU MLPs of width 1024 with 2 / 4 hidden layers, actor and critic alike
  (Sec. 3.3 deepens both).
* ``modern2`` / ``modern4``: pre-LayerNorm residual blocks ``x + W2 relu(W1 LN(x))``, residual
  width 1024, inner width 2048; the critic has the named number of blocks and the actor half
  (Sec. 3.2: four for the critic, two for the actor). No final LayerNorm: the paper's block is
  only the residual sum (our torso's optional final LayerNorm is off).
* ``_sn``: spectral normalization of the intermediate layers, i.e. every Dense except each
  network's first and output layers (App. C).

SAC hyperparameters of Table 3 (DrQ's): gamma 0.99, initial temperature 0.1, tau 0.01, Adam 1e-3
(eps 1e-8, betas 0.9/0.999: optax's defaults), batch 512, actor and target updated every 2
steps, log-std in [-10, 2], action repeat 2.

Steps: every ``*_env_steps`` field counts agent steps (policy decisions, replay rows); each is 2
simulator steps. The paper's budget of 500K env samples is therefore 250K agent steps. Warm-up:
Table 3 lists two "seed steps" values (5000 and 1000); we take 5000 env samples, i.e. 2500 agent
steps of uniform random actions.

From pixels: ``pixels_dmc_<task>_<head>[_sn]``, the same heads and hyperparameters on DrQ's
pixel SAC (agent ``sac_pixels``: 84x84 RGB, stacks of 3, the critic-owned conv encoder, random
shifts) and the reference dm_control suite rendered on the host (env ``dmc_pixels/<task>``),
so the tasks' timesteps are DrQ's. Two settings follow DrQ where the state runs keep every
transition and warm up longer: a 100K-transition replay (DrQ's capacity; 2.1 GB of frames, where
the whole run would take 5.3 GB) and 1000 agent steps of warm-up (DrQ's seed steps, counted in
its action-repeated steps, the other of Table 3's two values).
"""
from __future__ import annotations

import ml_collections

from largerl_jax.networks import torso_config
from largerl_jax.training import run_config

DMC_TASKS = (
    "ball_in_cup", "cartpole_swingup", "cartpole_balance", "cartpole_balance_sparse", "cartpole_swingup_sparse",
    "cheetah_run", "walker_run", "walker_walk", "walker_stand", "finger_spin", "reacher_easy", "reacher_hard",
    "pendulum_swingup", "hopper_hop", "hopper_stand",
)
# head -> (arch, critic depth, actor depth)
HEADS = {"mlp2": ("mlp", 2, 2), "mlp4": ("mlp", 4, 4), "modern2": ("modern", 2, 1), "modern4": ("modern", 4, 2)}
HEAD_WIDTH = 1024  # MLP width and the modern residual width (inner: 2 x 1024 = 2048)
ACTION_REPEAT = 2
ENV_SAMPLES = 500_000  # the paper's budget, in simulator steps
WARMUP_SAMPLES = 5_000
PIXEL_REPLAY_CAPACITY = 100_000  # DrQ's
PIXEL_WARMUP_STEPS = 1_000  # DrQ's seed steps (agent steps)
PIXELS_PREFIX = "pixels_"


def playground_name(task: str) -> str:
    """'ball_in_cup' -> 'dmc/BallInCup' (the env registry's name of the Playground task)."""
    return "dmc/" + "".join(word.capitalize() for word in task.split("_"))


def head_torso(head: str, depth_of: str, spectral: bool) -> ml_collections.ConfigDict:
    """DrQ's initialisation and PyTorch's LayerNorm epsilon, on which Bjorck et al. build: every
    Linear orthogonal with gain 1 and zero bias (drq/utils.py, weight_init), eps 1e-5."""
    arch, critic_depth, actor_depth = HEADS[head]
    return torso_config(
        arch=arch,
        width=HEAD_WIDTH,
        depth=critic_depth if depth_of == "critic" else actor_depth,
        activation="relu",
        spectral_norm="intermediate" if spectral else "none",
        modern_final_norm=False,
        kernel_init="orthogonal",
        ln_epsilon=1e-5,
    )


def dmc_config(task: str, head: str, spectral: bool, pixels: bool = False) -> ml_collections.ConfigDict:
    if pixels:
        cfg = run_config(agent="sac_pixels", env="dmc_pixels/" + task)
    else:
        cfg = run_config(agent="sac", env=playground_name(task))
    cfg.env.action_repeat = ACTION_REPEAT
    cfg.env.num_envs = 1
    cfg.env.eval_episodes = 10
    cfg.updates_per_iteration = 1
    cfg.total_env_steps = ENV_SAMPLES // ACTION_REPEAT
    cfg.warmup_env_steps = WARMUP_SAMPLES // ACTION_REPEAT
    cfg.replay_capacity = cfg.total_env_steps  # every transition of the run is kept
    cfg.log_every_env_steps = 5_000
    cfg.eval_every_env_steps = 5_000
    cfg.checkpoint_every_env_steps = 50_000
    cfg.log_singular_values = True  # Fig. 5: exact largest singular value per layer at each evaluation
    ag = cfg.agent
    ag.actor = head_torso(head, "actor", spectral)
    ag.critic = head_torso(head, "critic", spectral)
    ag.gamma = 0.99
    ag.tau = 0.01
    ag.batch_size = 512
    ag.actor_lr = ag.critic_lr = ag.alpha_lr = 1e-3
    ag.init_temperature = 0.1
    ag.log_std_min, ag.log_std_max = -10.0, 2.0
    ag.log_std_bound = "tanh"  # DrQ's actor (drq/drq.py): a tanh rescaled into [min, max]
    ag.actor_update_every = ag.target_update_every = 2
    ag.critic_loss = "mse_full"  # DrQ's F.mse_loss, without SAC's 1/2 (drq.py, update_critic)
    if pixels:
        cfg.replay_capacity = PIXEL_REPLAY_CAPACITY
        cfg.warmup_env_steps = PIXEL_WARMUP_STEPS
    return cfg


def dmc_config_names() -> list[str]:
    states = [f"dmc_{t}_{h}{sn}" for t in DMC_TASKS for h in HEADS for sn in ("", "_sn")]
    return states + [PIXELS_PREFIX + name for name in states]


def parse_dmc_name(name: str):
    """(task, head, spectral, pixels) for a ``dmc_*`` or ``pixels_dmc_*`` name, or None."""
    pixels = name.startswith(PIXELS_PREFIX)
    if pixels:
        name = name[len(PIXELS_PREFIX):]
    if not name.startswith("dmc_"):
        return None
    rest = name[len("dmc_"):]
    spectral = rest.endswith("_sn")
    rest = rest[: -len("_sn")] if spectral else rest
    for head in HEADS:
        if rest.endswith("_" + head) and rest[: -len(head) - 1] in DMC_TASKS:
            return rest[: -len(head) - 1], head, spectral, pixels
    return None
