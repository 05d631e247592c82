"""Soft Actor-Critic with twin Q, clipped double-Q targets and a learned temperature
(Haarnoja et al. 2018b, "SAC: algorithms and applications")."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from largerl_jax.agents import interface, lr_schedule, td
from largerl_jax.agents.configs import COMMON_CARRIED, sac_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.networks import trainable
from largerl_jax.agents.feature_view import RAW
from largerl_jax.networks import GaussianPolicy, QNetwork, export_policy, tanh_gaussian_mode, tanh_gaussian_sample


@struct.dataclass
class SACState:
    actor: trainable.Net
    critic: trainable.Net
    target_critic: trainable.Target
    log_alpha: jax.Array
    alpha_opt_state: object
    step: jax.Array


def make_sac(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    """obs_dim / sa_dim: sizes of the actor's and the critic's inputs (the feature view's z_s and
    z_sa; raw observations give sa_dim = obs_dim + act_dim)."""
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                          log_std_bound=cfg.log_std_bound)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q)
    # one Adam (with the config's clip) for every network; the learning rates come with each step
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    alpha_opt = trainable.make_adam(cfg.alpha_lr)
    # Haarnoja et al. 2018b: target entropy -|A| (target_entropy_coef -1; SimBa's -1/2).
    coef = float(cfg.get("target_entropy_coef", -1.0))
    target_entropy = coef * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        actor_net = trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim)))
        critic_net = trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim)))
        return initial_state(cfg, alpha_opt, actor_net, critic_net)

    def act(state: SACState, obs, key, deterministic: bool, view=RAW):
        z = view.state(obs)
        (mean, log_std), _ = state.actor.apply(z, train=False)
        if deterministic:
            return tanh_gaussian_mode(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]

    def td_target(state: SACState, batch, k_next, view):
        """The soft clipped double-Q target [B], gradient stopped."""
        alpha = jnp.exp(state.log_alpha)
        z_next = view.state(batch.next_obs, target=True)
        # The target critic has its own Polyak-averaged weights and batch-norm statistics and
        # reads the online spectral vectors (see trainable.Target).
        (next_mean, next_log_std), _ = state.actor.apply(z_next, train=False)
        next_act, next_logp = tanh_gaussian_sample(next_mean, next_log_std, k_next)
        next_sa = view.state_action(z_next, next_act, target=True)
        next_q, _ = state.critic.apply_target(state.target_critic, next_sa)
        next_v = next_q.min(axis=0) - alpha * next_logp
        target = td.batch_target(batch, next_v, cfg.gamma, cfg.reward_scale)
        return jax.lax.stop_gradient(target)

    def critic_step(state: SACState, z_sa, target, weights):
        def critic_loss_fn(params):
            q, new_state = state.critic.apply(z_sa, train=True, params=params)
            return td.td_loss(q, target, cfg.critic_loss, cfg.huber_delta, weights), (q, new_state)

        (critic_loss, (q, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params
        )
        lr = lr_schedule.at(cfg, cfg.critic_lr, state.step)
        return state.critic.apply_gradients(critic_grads, lr, critic_state), critic_loss, q, critic_grads

    def actor_step(state: SACState, critic_net, z, k_pi, view):
        alpha = jnp.exp(state.log_alpha)

        def actor_loss_fn(params):
            (mean, log_std), new_state = state.actor.apply(z, train=True, params=params)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
            pi_sa = view.state_action(z, pi_act)
            q_pi, _ = critic_net.apply(pi_sa, train=False)
            loss = (alpha * logp - q_pi.min(axis=0)).mean()
            return loss, (logp, new_state)

        (actor_loss, (logp, actor_state)), actor_grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(
            state.actor.params
        )
        lr = lr_schedule.at(cfg, cfg.actor_lr, state.step)
        return state.actor.apply_gradients(actor_grads, lr, actor_state), actor_loss, logp, actor_grads

    def update(state: SACState, batch, key, view=RAW, weights=None):
        k_next, k_pi = jax.random.split(key)
        z = view.state(batch.obs)
        z_sa = view.state_action(z, batch.action)
        temperature = None
        if cfg.get("update_order", "critic_first") == "critic_first":
            target = td_target(state, batch, k_next, view)
            critic_net, critic_loss, q, critic_grads = critic_step(state, z_sa, target, weights)
            actor_net, actor_loss, logp, actor_grads = actor_step(state, critic_net, z, k_pi, view)
        else:
            # SimBa's order (scale_rl/agents/sac/sac_agent.py, _update_sac_networks): the actor on
            # the critic before its step, the temperature on that actor's entropy, then the
            # critic on a target from the new actor and the new temperature.
            actor_net, actor_loss, logp, actor_grads = actor_step(state, state.critic, z, k_pi, view)
            temperature = temperature_step(cfg, alpha_opt, target_entropy, state, logp)
            do_actor = state.step % cfg.actor_update_every == 0
            log_alpha, alpha_opt_state = trainable.select(
                do_actor, temperature[:2], (state.log_alpha, state.alpha_opt_state))
            stepped = state.replace(actor=trainable.select(do_actor, actor_net, state.actor), log_alpha=log_alpha,
                                    alpha_opt_state=alpha_opt_state)
            target = td_target(stepped, batch, k_next, view)
            critic_net, critic_loss, q, critic_grads = critic_step(state, z_sa, target, weights)
        new_state, metrics = finish_update(
            cfg, alpha_opt, target_entropy, state, critic_net, actor_net, logp, critic_grads, actor_grads, temperature
        )
        metrics.update(critic_loss=critic_loss, actor_loss=actor_loss, q_mean=q.mean())
        metrics["priority"] = td.td_priority(q, target)
        return new_state, metrics

    def networks(state: SACState):
        return {
            "actor": (state.actor.module, state.actor.variables()),
            "critic": (state.critic.module, state.critic.variables()),
        }

    def critic_probe(state: SACState, batch, key, view=RAW):
        k_next, _ = jax.random.split(key)  # update's split: equal keys give equal targets
        z_sa = view.state_action(view.state(batch.obs), batch.action)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(), inputs=(z_sa,),
                                  target=td_target(state, batch, k_next, view))

    def export(p, state: SACState, x):
        return export_policy(p, state.actor.module, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks, critic_probe=critic_probe,
                           export=export)


def initial_state(cfg, alpha_opt, actor_net, critic_net) -> SACState:
    """A fresh SAC state around freshly initialized networks (shared with SAC from pixels)."""
    log_alpha = jnp.log(jnp.float32(cfg.init_temperature))
    return SACState(
        actor=actor_net,
        critic=critic_net,
        target_critic=critic_net.target(),
        log_alpha=log_alpha,
        alpha_opt_state=alpha_opt.init(log_alpha),
        step=jnp.int32(0),
    )


def temperature_step(cfg, alpha_opt, target_entropy: float, state: SACState, logp):
    """(log alpha, its optimizer state, alpha loss, entropy) after one temperature step on the
    policy's log-probabilities ``logp``; unchanged when the temperature is fixed. The loss is
    alpha (H - target) differentiated in log alpha (SAC 2018b's J(alpha) through exp)."""
    entropy = -jax.lax.stop_gradient(logp).mean()
    alpha_loss, alpha_grad = jax.value_and_grad(lambda la: jnp.exp(la) * (entropy - target_entropy))(state.log_alpha)
    alpha_updates, alpha_opt_state = alpha_opt.update(alpha_grad, state.alpha_opt_state, state.log_alpha)
    log_alpha = state.log_alpha + lr_schedule.scale_updates(cfg, alpha_updates, state.step)
    if not cfg.learn_temperature:
        log_alpha, alpha_opt_state = state.log_alpha, state.alpha_opt_state
    return log_alpha, alpha_opt_state, alpha_loss, entropy


def finish_update(cfg, alpha_opt, target_entropy: float, state: SACState, critic_net, actor_net, logp,
                  critic_grads, actor_grads, temperature=None) -> tuple[SACState, dict]:
    """The end of a SAC update shared with SAC from pixels: the temperature step (or the one
    ``temperature_step`` already took, ``temperature``), the update periods (DrQ and Bjorck et
    al. update the actor with the temperature, and the target critic, every 2 steps; plain SAC
    every step), the new state and the common metrics. ``actor_net`` is the actor after its
    gradient step, kept only on actor-update steps."""
    do_actor = state.step % cfg.actor_update_every == 0
    do_target = state.step % cfg.target_update_every == 0
    alpha = jnp.exp(state.log_alpha)
    if temperature is None:
        temperature = temperature_step(cfg, alpha_opt, target_entropy, state, logp)
    log_alpha, alpha_opt_state, alpha_loss, entropy = temperature
    log_alpha, alpha_opt_state = trainable.select(
        do_actor, (log_alpha, alpha_opt_state), (state.log_alpha, state.alpha_opt_state)
    )
    new_state = SACState(
        actor=trainable.select(do_actor, actor_net, state.actor),
        critic=critic_net,
        target_critic=trainable.select(
            do_target, critic_net.follow(state.target_critic, cfg.tau), state.target_critic
        ),
        log_alpha=log_alpha,
        alpha_opt_state=alpha_opt_state,
        step=state.step + 1,
    )
    metrics = {
        "alpha_loss": alpha_loss,
        "temperature": alpha,
        "entropy": entropy,
        "critic_grad_norm": optax.tree.norm(critic_grads),
        "actor_grad_norm": optax.tree.norm(actor_grads),
    }
    return new_state, metrics


UPDATE_ORDERS = ("critic_first", "actor_first")


def validate(agent_cfg) -> list[str]:
    order = agent_cfg.get("update_order", "critic_first")
    problems = [] if order in UPDATE_ORDERS else [f"agent.update_order={order!r} not one of {list(UPDATE_ORDERS)}"]
    return problems + lr_schedule.validate(agent_cfg)


# Carried keys: read only in traced arithmetic (tests/training/test_hyperparams.py traces each).
SAC_CARRIED = ("actor_lr", "critic_lr", "alpha_lr", "init_temperature", *COMMON_CARRIED)
FAMILY = register_agent(AgentFamily(
    name="sac", label="SAC", config=sac_config, make=make_sac, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr", "alpha_lr"), carried=SAC_CARRIED, validate=validate, schedules_lr=True,
))
