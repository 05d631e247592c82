"""Default hyperparameters of each agent, each documented where it is declared.

Defaults follow the original papers; experiment configs override them per paper experiment.
"""
from __future__ import annotations

import ml_collections

from largerl_jax.agents.family import agent_family
from largerl_jax.agents.lr_schedule import lr_schedule_config
from largerl_jax.features.config import ofenet_config
from largerl_jax.networks import torso_config
from largerl_jax.pruning.config import pruning_config


# Keys of _common that a grid may carry in the train state (each family adds its own).
COMMON_CARRIED = ("gamma", "tau", "reward_scale", "huber_delta")


def obs_norm_config() -> ml_collections.ConfigDict:
    """``agent.obs_norm`` (agents.obs_norm): ``enabled``; ``eps`` and ``form``, how it divides:
    'sqrt_var' is SimBa's (x - mean) / sqrt(var + eps) (its ObservationNormalizer, eps 1e-8),
    'std_plus' FastTD3's and FastSAC's (x - mean) / (sqrt(var) + eps) (EmpiricalNormalization,
    fast_td3/fast_td3_utils.py, eps 0.01); ``initial_count``, the count the statistics start
    with (Gymnasium's and SimBa's RunningMeanStd epsilon, 1e-4; FastTD3's 0); what updates them:
    ``from_acting`` (every stored env step's observations, SimBa's and FastTD3's) and
    ``from_batches`` (each update's sampled obs, then next_obs, before normalising them:
    FastTD3's and FastSAC's)."""
    return ml_collections.ConfigDict({"enabled": False, "eps": 1e-8, "form": "sqrt_var", "initial_count": 1e-4,
                                      "from_acting": True, "from_batches": False})


def reward_norm_config() -> ml_collections.ConfigDict:
    """``agent.reward_norm`` (agents.reward_norm, SimbaV2's reward scaling): ``enabled``;
    ``g_max`` (5, normalized_g_max); ``eps`` (1e-8); ``num_envs``, filled from the run."""
    return ml_collections.ConfigDict({"enabled": False, "g_max": 5.0, "eps": 1e-8, "num_envs": 0})


def resets_config() -> ml_collections.ConfigDict:
    """``agent.resets`` (agents.resets): ``at_env_steps``, the env steps at which the agent
    state's ``fields`` (empty: all of it) return to their initial values; none by default."""
    return ml_collections.ConfigDict({"at_env_steps": (), "fields": ()})


def _common(cfg: ml_collections.ConfigDict) -> None:
    cfg.gamma = 0.99  # discount (all three original papers)
    cfg.tau = 0.005  # Polyak coefficient for target networks (SAC 2018b, TD3)
    cfg.batch_size = 256  # SAC: 256; TD3 paper used 100, Ota et al. use 256 for TD3 too
    cfg.num_q = 2  # twin critics, clipped double-Q
    # 'mse' (1/2 squared error, as the SAC papers) | 'mse_full' (no 1/2: DrQ) | 'huber' (Ota et al.
    # 2021 A.1 use Huber for large nets): see agents.td.CRITIC_LOSSES
    cfg.critic_loss = "mse"
    # Huber transition point when critic_loss='huber': TD errors below it are squared, above it
    # linear. 1.0 suits rewards of order 1 per step; the Ota et al. configs, whose targets are
    # scaled rewards summed over ~100 steps, set HUBER_DELTA_PER_REWARD_SCALE x reward_scale
    # (see experiments/configs/families.py).
    cfg.huber_delta = 1.0
    cfg.reward_scale = 1.0  # multiplies rewards in the TD target
    cfg.grad_clip = ml_collections.FieldReference(None, field_type=float)  # global-norm clip, None = off
    # Actor and critic architectures are independent torso configs (arch, width, depth,
    # activation, spectral_norm, sn_iters, batch_norm): see largerl_jax.networks.config.
    cfg.actor = torso_config(arch="mlp", width=256, depth=2, activation="relu")
    cfg.critic = torso_config(arch="mlp", width=256, depth=2, activation="relu")
    # 'raw': networks read observations; 'ofenet': they read OFENet's z_s / z_sa, and OFENet
    # (configured by cfg.ofenet, see largerl_jax.features.config) trains on next-state prediction.
    cfg.features = "raw"
    cfg.ofenet = ofenet_config()
    # Running observation normalisation (SimBa's; agents.obs_norm): off, as in the SAC, TD3 and
    # OFENet papers.
    cfg.obs_norm = obs_norm_config()
    # Reward scaling by the running discounted return (SimbaV2's; agents.reward_norm): off.
    cfg.reward_norm = reward_norm_config()
    # Decoupled weight decay (AdamW, Loshchilov & Hutter 2019, optax.adamw: every parameter,
    # scaled by the learning rate) of the actor's, critics' and V's optimizers; 0: plain Adam,
    # as the SAC, TD3 and Ota et al. papers. SimBa and BRO set it.
    cfg.weight_decay = 0.0
    # Resets at configured env steps (BRO's; agents.resets): none, as the 2021 papers.
    cfg.resets = resets_config()
    # Learning-rate schedule of every network's optimizer (agents.lr_schedule): constant, as the
    # 2021 papers; SimbaV2 decays linearly.
    cfg.lr_schedule = lr_schedule_config()


def sac_config() -> ml_collections.ConfigDict:
    """SAC with learned temperature (Haarnoja et al. 2018b, Table 1 hyperparameters)."""
    cfg = ml_collections.ConfigDict()
    cfg.name = "sac"
    _common(cfg)
    cfg.actor_lr = 3e-4
    cfg.critic_lr = 3e-4
    cfg.alpha_lr = 3e-4
    cfg.init_temperature = 1.0  # initial alpha
    cfg.learn_temperature = True  # False keeps alpha = init_temperature
    cfg.target_entropy = ml_collections.FieldReference(None, field_type=float)  # None -> coef x |A|
    cfg.target_entropy_coef = -1.0  # Haarnoja et al. 2018b: target entropy -|A|
    cfg.log_std_min = -20.0  # log-std bounds of the Gaussian policy (original SAC code)
    cfg.log_std_max = 2.0
    # 'clip' (original SAC code) or 'tanh' (DrQ's rescaled tanh; the dmc_* configs): see
    # networks.heads.bound_log_std
    cfg.log_std_bound = "clip"
    # Update periods in agent updates: 1 in SAC; DrQ and Bjorck et al. (Table 3) update the
    # actor with the temperature, and the target critic, every 2.
    cfg.actor_update_every = 1
    cfg.target_update_every = 1
    # 'critic_first' (SAC 2018b's Algorithm 1 and softlearning: critic, then actor and
    # temperature) or 'actor_first' (SimBa's code: actor and temperature, then the critic on a
    # target from the new actor and temperature); see agents.sac
    cfg.update_order = "critic_first"
    return cfg


def sac_pixels_config() -> ml_collections.ConfigDict:
    """SAC from pixels as DrQ (Kostrikov et al. 2020, their Table 1 and code; Bjorck et al.
    Table 3): the convolutional encoder of networks/encoder.py, owned and trained by the critic,
    random-shift augmentation, Adam 1e-3 everywhere, batch 512, initial temperature 0.1, tau
    0.01, actor, temperature and target updated every 2 steps, log-std in [-10, 2]. ``actor`` and
    ``critic`` are the heads on the encoder's 50 features (DrQ: 2 x 1024 ReLU)."""
    cfg = sac_config()
    cfg.name = "sac_pixels"
    cfg.actor = torso_config(arch="mlp", width=1024, depth=2, activation="relu")
    cfg.critic = torso_config(arch="mlp", width=1024, depth=2, activation="relu")
    cfg.batch_size = 512
    cfg.tau = 0.01
    cfg.actor_lr = cfg.critic_lr = cfg.alpha_lr = 1e-3
    cfg.init_temperature = 0.1
    cfg.log_std_min, cfg.log_std_max = -10.0, 2.0
    cfg.actor_update_every = cfg.target_update_every = 2
    cfg.frame_stack = 3  # frames per observation (DrQ's k)
    cfg.shift_pad = 4  # random-shift augmentation: up to 4 pixels each way (DrQ)
    # augmented copies of obs (K) and next_obs (M) per sample: DrQ's K = M = 2. The critic loss
    # sums over the K copies, the target averages over the M copies.
    cfg.augment_obs = 2
    cfg.augment_next_obs = 2
    # DrQ's critic loss is PyTorch's F.mse_loss, without SAC's 1/2 (drq.py, update_critic), so
    # the logged critic loss and its gradient norm are on Bjorck et al.'s Fig. 3 scale
    cfg.critic_loss = "mse_full"
    return cfg


def sac_v1_config() -> ml_collections.ConfigDict:
    """SAC v1 (Haarnoja et al. 2018a): V network, fixed temperature, reward scale.

    Checked against 2018a's Table 1 (App. D): Adam 3e-4 for every network, 2 hidden layers of
    256 ReLU units, batch 256, gamma 0.99, tau 0.005, one gradient step per env step, target
    update every step, 1M replay; reward scale 5 (Humanoid 20, set per task by the configs)."""
    cfg = ml_collections.ConfigDict()
    cfg.name = "sac_v1"
    _common(cfg)
    cfg.actor_lr = 3e-4
    cfg.critic_lr = 3e-4
    cfg.value_lr = 3e-4
    cfg.init_temperature = 1.0  # fixed alpha; the reward scale sets the entropy trade-off
    cfg.reward_scale = 5.0  # 2018a: 5 for most MuJoCo tasks, 20 for Humanoid
    cfg.log_std_min = -20.0
    cfg.log_std_max = 2.0
    cfg.log_std_bound = "clip"  # the reference code's hard clip (networks.heads.bound_log_std)
    cfg.value = torso_config(arch="mlp", width=256, depth=2, activation="relu")
    # XiNet pruning (the pruning paper): gates on every hidden unit of the policy, V, the Qs and,
    # with features='ofenet', OFENet; off by default (see largerl_jax.pruning.config).
    cfg.pruning = pruning_config()
    return cfg


def td3_config() -> ml_collections.ConfigDict:
    """TD3 as published (Fujimoto et al. 2018, Sec. 6.1 and App. C): 400-300 ReLU actor and
    critic, Adam 1e-3 for both; Ota et al. (A.4) keep these and change only the batch (256).
    The authors' later code uses 256-256 and 3e-4: set agent.actor/critic and *_lr to get it."""
    cfg = ml_collections.ConfigDict()
    cfg.name = "td3"
    _common(cfg)
    cfg.actor = torso_config(arch="mlp", width=400, depth=2, widths=(400, 300), activation="relu")
    cfg.critic = torso_config(arch="mlp", width=400, depth=2, widths=(400, 300), activation="relu")
    cfg.actor_lr = 1e-3
    cfg.critic_lr = 1e-3
    cfg.policy_noise = 0.2  # target-policy smoothing std (fraction of max action)
    cfg.noise_clip = 0.5  # clip of the smoothing noise
    cfg.policy_delay = 2  # critic updates per actor/target update
    cfg.exploration_noise = 0.1  # Gaussian exploration std when acting
    return cfg


def agent_config(name: str) -> ml_collections.ConfigDict:
    """A fresh default config of the registered agent family ``name`` (agents.family)."""
    return agent_family(name).config()
