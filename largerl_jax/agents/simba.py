"""SimBa (Lee et al., "SimBa: Simplicity Bias for Scaling Up Parameters in Deep RL", ICLR 2025)
as an agent family: SAC (agents.sac) with SimBa's residual encoders (torso arch 'simba'), running
observation normalisation (agents.obs_norm), AdamW and SimBa's update order. Defaults are the
authors' (SonyResearch/simba, configs/agent/sac_simba.yaml, configs/base.yaml,
configs/buffer/numpy_uniform.yaml, scale_rl/agents/sac/); the run-level ones (2 updates per env
step, 5000 random steps, the discount heuristic, one critic on non-episodic tasks) are set by
the ``*_simba`` experiment configs (experiments/configs/scaling.py).
"""
from __future__ import annotations

import ml_collections

from largerl_jax.agents import sac
from largerl_jax.agents.configs import sac_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.networks import torso_config


def simba_config() -> ml_collections.ConfigDict:
    cfg = sac_config()
    cfg.name = "simba"
    # sac_simba.yaml: actor 1 block of 128, critic 2 blocks of 512 ('residual' blocks); the
    # embedding and the heads orthogonal with gain 1 (sac_network.py SACEncoder, policies.py
    # NormalTanhPolicy, critics.py LinearCritic)
    cfg.actor = torso_config(arch="simba", width=128, depth=1, kernel_init="orthogonal")
    cfg.critic = torso_config(arch="simba", width=512, depth=2, kernel_init="orthogonal")
    # critic_use_cdq: ${env.episodic}: two critics and their minimum on tasks that terminate,
    # one critic on the others (DMC); the experiment configs set it per task
    cfg.num_q = 2
    cfg.actor_lr = cfg.critic_lr = 1e-4  # actor_/critic_learning_rate
    cfg.weight_decay = 1e-2  # actor_/critic_weight_decay (optax.adamw)
    cfg.alpha_lr = 1e-4  # temp_learning_rate (AdamW with weight decay 0: Adam)
    cfg.init_temperature = 0.01  # temp_initial_value
    cfg.target_entropy_coef = -0.5  # temp_target_entropy_coef: target -|A| / 2
    cfg.tau = 0.005  # target_tau
    cfg.batch_size = 256  # numpy_uniform.yaml sample_batch_size
    # sac_update.py: (Q1 - y)^2 + (Q2 - y)^2 averaged over the batch, without SAC's 1/2
    cfg.critic_loss = "mse_full"
    # policies.py NormalTanhPolicy: log-std = -10 + 6 (1 + tanh(x))
    cfg.log_std_min, cfg.log_std_max, cfg.log_std_bound = -10.0, 2.0, "tanh"
    cfg.update_order = "actor_first"  # sac_agent.py _update_sac_networks
    cfg.obs_norm.enabled = True  # normalize_observation: true (agents/wrappers/normalization.py)
    return cfg


FAMILY = register_agent(AgentFamily(
    name="simba", label="SimBa", config=simba_config, make=sac.make_sac, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr", "alpha_lr"), carried=sac.SAC_CARRIED, validate=sac.validate,
    schedules_lr=True,
))
