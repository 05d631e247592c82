"""CrossQ (Bhatt et al., "CrossQ: Batch Normalization in Deep Reinforcement Learning for Greater
Sample Efficiency and Simplicity", ICLR 2024) as an agent family: SAC without target networks,
batch renormalization in the actor and the critic (torso ``batch_renorm``), and one joint
training-mode critic pass over the current and the next state-action pairs.

The critic step (adityab/CrossQ, and sbx's port, ``update_critic``):

    a' ~ pi(.|s') with the actor in evaluation mode (its running statistics)
    [Q(s, a); Q(s', a')] = critic(concat([(s, a), (s', a')]))   one pass in training mode
    y = r + gamma (1 - d) (min_k Q_k(s', a') - alpha log pi(a'|s'))   gradient stopped

so the batch renormalization statistics of the pass are those of both halves together: the
critic never sees (s', a') under other statistics than (s, a), which is what lets CrossQ drop
the target network. The actor and the temperature step every ``actor_update_every`` critic
steps (CrossQ's policy delay, 3), the actor in training mode on the critic in evaluation mode.

Defaults are the authors' (adityab/CrossQ, train.py): critic 2 x 2048, actor 2 x 256, ReLU,
BatchRenorm (momentum 0.99, eps 1e-3, r_max 3, d_max 5, plain batch norm for the first 100,000
training-mode calls); Adam lr 1e-3 with b1 0.5 for every network and the temperature; policy
delay 3; batch 256; initial temperature 1; target entropy -|A|. Run-level settings (UTD 1,
5000 random steps) are the experiment configs'. sbx's CrossQ differs in critic width (1024)
and learning starts (100).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import struct

from largerl_jax.agents import interface, lr_schedule, td
from largerl_jax.agents.configs import sac_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.sac import SAC_CARRIED, temperature_step, validate as sac_validate
from largerl_jax.networks import GaussianPolicy, QNetwork, export_policy, tanh_gaussian_mode, tanh_gaussian_sample
from largerl_jax.networks import torso_config, trainable

ADAM_B1 = 0.5  # train.py: Adam(learning_rate, b1=0.5) for actor, critic and temperature


def crossq_config() -> ml_collections.ConfigDict:
    cfg = sac_config()
    cfg.name = "crossq"
    cfg.actor = torso_config(arch="mlp", width=256, depth=2, activation="relu", batch_renorm=True)
    cfg.critic = torso_config(arch="mlp", width=2048, depth=2, activation="relu", batch_renorm=True)
    cfg.actor_lr = cfg.critic_lr = cfg.alpha_lr = 1e-3
    cfg.adam_b1 = ADAM_B1
    cfg.actor_update_every = 3  # policy_delay
    cfg.init_temperature = 1.0
    cfg.target_entropy_coef = -1.0
    cfg.batch_size = 256
    return cfg


@struct.dataclass
class CrossQState:
    actor: trainable.Net
    critic: trainable.Net
    log_alpha: jax.Array
    alpha_opt_state: object
    step: jax.Array


def make_crossq(cfg, obs_dim: int, act_dim: int) -> interface.Agent:
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                          log_std_bound=cfg.log_std_bound)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q)
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay, cfg.adam_b1)
    alpha_opt = trainable.make_adam(cfg.alpha_lr, b1=cfg.adam_b1)
    target_entropy = cfg.target_entropy_coef * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        log_alpha = jnp.log(jnp.float32(cfg.init_temperature))
        return CrossQState(
            actor=trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim))),
            critic=trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, obs_dim + act_dim))),
            log_alpha=log_alpha, alpha_opt_state=alpha_opt.init(log_alpha), step=jnp.int32(0))

    def act(state: CrossQState, obs, key, deterministic: bool):
        (mean, log_std), _ = state.actor.apply(obs, train=False)
        return tanh_gaussian_mode(mean) if deterministic else tanh_gaussian_sample(mean, log_std, key)[0]

    def joint_pass(state: CrossQState, params, batch, k_next):
        """(Q(s, a) [K, B], the target [B] with gradient stopped, the critic's new batch_stats) of
        one training-mode pass over concat([(s, a), (s', a')])."""
        alpha = jnp.exp(state.log_alpha)
        (next_mean, next_log_std), _ = state.actor.apply(batch.next_obs, train=False)
        next_act, next_logp = jax.lax.stop_gradient(tanh_gaussian_sample(next_mean, next_log_std, k_next))
        joint = jnp.concatenate([jnp.concatenate([batch.obs, batch.action], -1),
                                 jnp.concatenate([batch.next_obs, next_act], -1)], 0)
        n = batch.obs.shape[0]
        q_all, new_state = state.critic.apply(joint, train=True, params=params)  # [K, 2B]
        next_v = jax.lax.stop_gradient(q_all[:, n:]).min(axis=0) - alpha * next_logp
        target = jax.lax.stop_gradient(td.batch_target(batch, next_v, cfg.gamma, cfg.reward_scale))
        return q_all[:, :n], target, new_state

    def critic_step(state: CrossQState, batch, k_next, weights):
        def loss_fn(params):
            q, target, new_state = joint_pass(state, params, batch, k_next)
            return td.td_loss(q, target, cfg.critic_loss, cfg.huber_delta, weights), (q, target, new_state)

        (loss, (q, target, new_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.critic.params)
        critic_net = state.critic.apply_gradients(grads, lr_schedule.at(cfg, cfg.critic_lr, state.step), new_state)
        return critic_net, loss, q, target, grads

    def actor_step(state: CrossQState, critic_net, obs, k_pi):
        alpha = jnp.exp(state.log_alpha)

        def loss_fn(params):
            (mean, log_std), new_state = state.actor.apply(obs, train=True, params=params)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
            q_pi, _ = critic_net.apply(jnp.concatenate([obs, pi_act], -1), train=False)
            return (alpha * logp - q_pi.min(axis=0)).mean(), (logp, new_state)

        (loss, (logp, new_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.actor.params)
        actor_net = state.actor.apply_gradients(grads, lr_schedule.at(cfg, cfg.actor_lr, state.step), new_state)
        return actor_net, loss, logp, grads

    def update(state: CrossQState, batch, key, weights=None):
        k_next, k_pi = jax.random.split(key)
        critic_net, critic_loss, q, target, critic_grads = critic_step(state, batch, k_next, weights)

        def actor_and_temperature(_):
            actor_net, actor_loss, logp, actor_grads = actor_step(state, critic_net, batch.obs, k_pi)
            log_alpha, alpha_opt_state, alpha_loss, entropy = temperature_step(cfg, alpha_opt, target_entropy, state,
                                                                               logp)
            return (actor_net, log_alpha, alpha_opt_state), (actor_loss, alpha_loss, entropy,
                                                             optax.tree.norm(actor_grads))

        def skip(_):
            nan = jnp.float32(jnp.nan)
            return (state.actor, state.log_alpha, state.alpha_opt_state), (nan, nan, nan, nan)

        # The policy delay. Under the trainer's vmap over seeds this cond becomes a select (both
        # branches run); a one-seed run (training/seed_map.py) skips the actor's forward and
        # backward passes through the wide critic on 2 of every 3 updates. The actor's metrics
        # are NaN on skipped steps; the trainer averages them with nanmean.
        do_actor = state.step % cfg.actor_update_every == 0
        (actor_net, log_alpha, alpha_opt_state), (actor_loss, alpha_loss, entropy, actor_grad_norm) = jax.lax.cond(
            do_actor, actor_and_temperature, skip, None)
        new_state = CrossQState(actor=actor_net, critic=critic_net, log_alpha=log_alpha,
                                alpha_opt_state=alpha_opt_state, step=state.step + 1)
        metrics = {"critic_loss": critic_loss, "actor_loss": actor_loss, "alpha_loss": alpha_loss,
                   "temperature": jnp.exp(state.log_alpha), "entropy": entropy, "q_mean": q.mean(),
                   "critic_grad_norm": optax.tree.norm(critic_grads), "actor_grad_norm": actor_grad_norm,
                   "priority": td.td_priority(q, target)}
        return new_state, metrics

    def networks(state: CrossQState):
        return {"actor": (state.actor.module, state.actor.variables()),
                "critic": (state.critic.module, state.critic.variables())}

    def critic_probe(state: CrossQState, batch, key):
        k_next, _ = jax.random.split(key)  # update's split: equal keys give equal targets
        _, target, _ = joint_pass(state, state.critic.params, batch, k_next)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(),
                                     inputs=(jnp.concatenate([batch.obs, batch.action], -1),), target=target)

    def export(p, state: CrossQState, x):
        return export_policy(p, state.actor.module, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks,
                           optional_metrics=("actor_loss", "alpha_loss", "entropy", "actor_grad_norm"),
                           critic_probe=critic_probe, export=export)


def validate(agent_cfg) -> list[str]:
    problems = sac_validate(agent_cfg)
    if agent_cfg.get("features", "raw") != "raw":
        problems.append("agent crossq reads raw observations only (agent.features='raw')")
    return problems


FAMILY = register_agent(AgentFamily(
    name="crossq", label="CrossQ", config=crossq_config, make=make_crossq, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr", "alpha_lr"),
    carried=SAC_CARRIED, validate=validate, features=("raw",), schedules_lr=True,
))
