"""SimbaV2 (Lee et al., "Hyperspherical Normalization for Scalable Deep Reinforcement Learning",
ICML 2025) as an agent family: SAC on the hyperspherical torso (arch 'simbav2') and heads
(networks.hyper_heads) with a categorical critic (C51 projection, cross-entropy), every
'hyper_dense' kernel projected back to the unit sphere after each optimizer step (targets are
Polyak averages, not projected), running observation normalisation and SimbaV2's reward
scaling, Adam with the rates decaying linearly to half over the run.

Defaults: dojeon-ai/SimbaV2, configs/agent/simbaV2.yaml (widths, blocks, bins, v_min/v_max =
-/+ normalized_g_max, learning_rate_init/end, temperature, tau), scale_rl/agents/simbaV2/
simbaV2_update.py (update order: actor, temperature, critic on a target from the new actor and
temperature, target; the clipped double-Q target takes the distribution of the member with the
lower mean; losses summed over members), simbaV2_agent.py (Adam without weight decay on the
three optimizers, all on the linear schedule). The run settings are the ``*_simbav2`` configs'
(experiments/configs/scaling.py). Exported policies run the hyperspherical ops (L2
normalisations, scalers, LERPs) in the policy file's NumPy program. With OFENet features
(``agent.features='ofenet'``) the actor reads z_s and the critic z_sa, as in SAC; the
hyperspherical embedder normalises them like any input.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from largerl_jax.agents import interface, lr_schedule
from largerl_jax.agents.configs import sac_config
from largerl_jax.agents.distributional import categorical_loss, categorical_projection
from largerl_jax.agents.feature_view import RAW
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.sac import SACState, initial_state, temperature_step
from largerl_jax.agents.td import target_terms
from largerl_jax.networks import tanh_gaussian_mode, tanh_gaussian_sample, torso_config, trainable
from largerl_jax.networks.archs.simbav2 import project
from largerl_jax.networks.hyper_heads import HyperCategoricalQ, HyperGaussianPolicy, categorical_q, export_hyper_policy


def simbav2_config() -> ml_collections.ConfigDict:
    cfg = sac_config()
    cfg.name = "simbav2"
    cfg.actor = torso_config(arch="simbav2", width=128, depth=1)  # actor_hidden_dim, actor_num_blocks
    cfg.critic = torso_config(arch="simbav2", width=512, depth=2)  # critic_hidden_dim, critic_num_blocks
    cfg.num_q = 2  # critic_use_cdq: ${env.episodic}; the experiment configs set 1 on DMC
    cfg.bins, cfg.v_min, cfg.v_max = 101, -5.0, 5.0  # critic_num_bins, critic_min_v/max_v = -/+ g_max
    cfg.actor_lr = cfg.critic_lr = cfg.alpha_lr = 1e-4  # learning_rate_init
    cfg.lr_schedule.kind, cfg.lr_schedule.end_factor = "linear", 0.5  # to learning_rate_end 5e-5
    cfg.init_temperature, cfg.target_entropy_coef, cfg.tau = 0.01, -0.5, 0.005
    cfg.batch_size = 256
    cfg.log_std_min, cfg.log_std_max, cfg.log_std_bound = -10.0, 2.0, "tanh"
    cfg.obs_norm.enabled = True  # normalize_observation
    cfg.reward_norm.enabled, cfg.reward_norm.g_max = True, 5.0  # normalize_reward, normalized_g_max
    return cfg


def make_simbav2(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = HyperGaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min,
                                log_std_max=cfg.log_std_max)
    critic = HyperCategoricalQ(torso=cfg.critic, num_q=cfg.num_q, bins=cfg.bins, v_min=cfg.v_min, v_max=cfg.v_max)
    atoms = jnp.linspace(cfg.v_min, cfg.v_max, cfg.bins)
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    alpha_opt = trainable.make_adam(cfg.alpha_lr)
    target_entropy = float(cfg.target_entropy_coef) * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)

    def projected(net):
        return net.replace(params=project(net.params))

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        actor_net = projected(trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim))))
        critic_net = projected(trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim))))
        return initial_state(cfg, alpha_opt, actor_net, critic_net)

    def act(state: SACState, obs, key, deterministic: bool, view=RAW):
        (mean, log_std), _ = state.actor.apply(view.state(obs), train=False)
        return tanh_gaussian_mode(mean) if deterministic else tanh_gaussian_sample(mean, log_std, key)[0]

    def td_target(state: SACState, actor_net, log_alpha, batch, k_next, view):
        """The projected categorical target [B, bins] from ``actor_net`` and ``log_alpha``."""
        z_next = view.state(batch.next_obs, target=True)
        (mean, log_std), _ = actor_net.apply(z_next, train=False)
        next_act, next_logp = tanh_gaussian_sample(mean, log_std, k_next)
        logits, _ = state.critic.apply_target(state.target_critic, view.state_action(z_next, next_act, target=True))
        pick = jnp.argmin(categorical_q(logits, atoms), axis=0)  # the member of lower mean, per sample
        probs = jax.nn.softmax(jnp.take_along_axis(logits, pick[None, :, None], axis=0)[0], axis=-1)
        reward, keep = target_terms(batch, cfg.gamma)
        returns = cfg.reward_scale * reward[:, None] + keep[:, None] * (atoms[None] - jnp.exp(log_alpha) * next_logp[:, None])
        return jax.lax.stop_gradient(categorical_projection(probs, returns, cfg.v_min, cfg.v_max))

    def update(state: SACState, batch, key, view=RAW, weights=None):
        k_next, k_pi = jax.random.split(key)
        z = view.state(batch.obs)
        sa = view.state_action(z, batch.action)
        alpha = jnp.exp(state.log_alpha)

        def actor_loss_fn(params):
            (mean, log_std), _ = state.actor.apply(z, train=True, params=params)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
            logits, _ = state.critic.apply(view.state_action(z, pi_act), train=False)
            return (alpha * logp - categorical_q(logits, atoms).min(axis=0)).mean(), logp

        (actor_loss, logp), actor_grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(state.actor.params)
        actor_net = projected(state.actor.apply_gradients(actor_grads, lr_schedule.at(cfg, cfg.actor_lr, state.step)))
        log_alpha, alpha_opt_state, alpha_loss, entropy = temperature_step(cfg, alpha_opt, target_entropy, state, logp)
        target = td_target(state, actor_net, log_alpha, batch, k_next, view)

        def critic_loss_fn(params):
            logits, _ = state.critic.apply(sa, train=True, params=params)
            return jax.vmap(lambda lk: categorical_loss(lk, target))(logits).sum(), logits

        (critic_loss, logits), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(state.critic.params)
        critic_net = projected(state.critic.apply_gradients(critic_grads, lr_schedule.at(cfg, cfg.critic_lr, state.step)))
        q = categorical_q(logits, atoms)
        new_state = SACState(actor=actor_net, critic=critic_net, target_critic=critic_net.follow(state.target_critic, cfg.tau),
                             log_alpha=log_alpha, alpha_opt_state=alpha_opt_state, step=state.step + 1)
        metrics = {"critic_loss": critic_loss, "actor_loss": actor_loss, "alpha_loss": alpha_loss, "temperature": alpha,
                   "entropy": entropy, "q_mean": q.mean(),
                   "priority": jax.lax.stop_gradient(jnp.abs(q - (target * atoms).sum(-1)[None]).mean(axis=0))}
        return new_state, metrics

    def networks(state: SACState):
        return {"actor": (state.actor.module, state.actor.variables()),
                "critic": (state.critic.module, state.critic.variables())}

    def critic_probe(state: SACState, batch, key, view=RAW):
        k_next, _ = jax.random.split(key)
        sa = view.state_action(view.state(batch.obs), batch.action)
        target = td_target(state, state.actor, state.log_alpha, batch, k_next, view)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(), inputs=(sa,),
                                     target=(target * atoms).sum(-1), to_q=lambda logits: categorical_q(logits, atoms))

    def export(p, state: SACState, x):
        return export_hyper_policy(p, state.actor.module, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks,
                           critic_probe=critic_probe, export=export)


def _validate(agent_cfg) -> list[str]:
    problems = []
    if agent_cfg.actor.arch != "simbav2" or agent_cfg.critic.arch != "simbav2":
        problems.append("simbav2's heads need agent.actor.arch and agent.critic.arch 'simbav2'")
    if agent_cfg.actor_update_every != 1 or agent_cfg.target_update_every != 1:
        problems.append("simbav2 updates its actor and target every step (actor/target_update_every must be 1)")
    if not (isinstance(agent_cfg.bins, int) and agent_cfg.bins >= 2 and agent_cfg.v_min < agent_cfg.v_max):
        problems.append(f"agent.bins={agent_cfg.bins!r} must be >= 2 and v_min < v_max")
    return problems


# Carried keys: read only in traced arithmetic.
CARRIED = ("actor_lr", "critic_lr", "alpha_lr", "init_temperature", "gamma", "tau", "reward_scale")
FAMILY = register_agent(AgentFamily(
    name="simbav2", label="SimbaV2", config=simbav2_config, make=make_simbav2, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr", "alpha_lr"), carried=CARRIED,
    validate=_validate, schedules_lr=True,
))
