"""BRO (Nauman et al., "Bigger, Regularized, Optimistic: scaling for compute and sample-efficient
continuous control", NeurIPS 2024) as an agent family: SAC with BroNet torsos (arch 'bronet'),
two quantile critics averaged (pessimism 0), AdamW, an optimistic dual actor for exploration,
and full resets (agents.resets, from the config's ``resets``).

Every default is the authors' code (naumix/BiggerRegularizedOptimistic): configs/bro_default.py,
jaxrl/bro/bro_learner.py (update order, taus, adjustment bounds, resets, temperature and
adjustment optimizers), jaxrl/bro/critic.py (quantile targets and loss), jaxrl/bro/actor.py
(actor and optimistic actor losses), jaxrl/networks/policies.py and critic_net.py (heads),
train_parallel.py (batch 128, 2500 random steps, 10 updates per step).

One update, in BRO's order: the critics on a target from the current actor and temperature;
the target critics (Polyak, every update); the actor on the new critics; the optimistic actor
on the new actor and critics; the temperature on the actor's entropy; the optimism and the KL
weight on the optimistic actor's KL. Acting: the optimistic actor explores, the actor's mean
(tanh) is the deterministic policy that evaluation and export use.

Departures, ours: BRO's mean and log-std heads are two Denses (gains sqrt 2 and 1); ours is one
Dense of 2|A| outputs with the torso's init (sqrt 2). The critic probe (effective rank, loss
landscapes) sees the mean of the quantiles as Q, and the mean of the quantile target as target.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import struct

from largerl_jax.agents import interface
from largerl_jax.agents.configs import sac_config
from largerl_jax.agents.distributional import quantile_huber_loss, quantile_midpoints
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.td import target_terms
from largerl_jax.networks import GaussianPolicy, QNetwork, export_policy, tanh_gaussian_mode, tanh_gaussian_sample
from largerl_jax.networks import torso_config, trainable
from largerl_jax.networks.heads import ActionShift

# bro_learner.py: the adjustments' log-values live in [-10, 7.5] through a rescaled tanh
ADJUSTMENT_LOG_MIN, ADJUSTMENT_LOG_MAX = -10.0, 7.5
RESETS = (15_001, 50_001, 250_001, 500_001, 750_001)  # bro_learner.py reset_list within 1M steps


def bro_config() -> ml_collections.ConfigDict:
    cfg = sac_config()
    cfg.name = "bro"
    # critic_net.py Critic / policies.py: BroNet critics 512 x depth 2, actors 256 x depth 1;
    # common.py default_init: orthogonal, gain sqrt 2
    cfg.actor = torso_config(arch="bronet", width=256, depth=1, kernel_init="orthogonal_sqrt2")
    cfg.actor_o = torso_config(arch="bronet", width=256, depth=1, kernel_init="orthogonal_sqrt2")
    cfg.critic = torso_config(arch="bronet", width=512, depth=2, kernel_init="orthogonal_sqrt2")
    cfg.num_q = 2
    cfg.n_quantiles = 100  # bro_default.py
    cfg.kappa = 1.0  # critic.py update_quantile
    cfg.pessimism = 0.0  # bro_learner.py: the critics' mean (beta 0)
    cfg.actor_lr = cfg.critic_lr = cfg.alpha_lr = 3e-4  # bro_default.py
    cfg.adjustment_lr = 3e-5  # bro_learner.py adj_lr (optimism and KL weight)
    cfg.weight_decay = 1e-4  # optax.adamw's default, which bro_learner.py uses
    cfg.gamma, cfg.tau, cfg.init_temperature = 0.99, 0.005, 1.0  # bro_default.py
    cfg.target_entropy_coef = -0.5  # bro_learner.py: -|A| / 2
    cfg.init_optimism, cfg.init_kl_weight = 1.0, 0.25  # bro_learner.py init_optimism, init_regularizer
    cfg.kl_target = 0.05  # per action dimension (bro_default.py)
    cfg.std_multiplier = 0.75  # bro_default.py: the optimistic actor's std, x the actor's
    cfg.batch_size = 128  # train_parallel.py
    cfg.log_std_min, cfg.log_std_max, cfg.log_std_bound = -10.0, 2.0, "tanh"  # policies.py
    cfg.resets.at_env_steps = RESETS
    return cfg


def bro_fast_config() -> ml_collections.ConfigDict:
    """BRO (Fast): replay ratio 2 (a run setting) and one reset, at 15001 (bro_learner.py)."""
    cfg = bro_config()
    cfg.name = "bro_fast"
    cfg.resets.at_env_steps = RESETS[:1]
    return cfg


def adjustment_value(raw):
    return jnp.exp(ADJUSTMENT_LOG_MIN + (ADJUSTMENT_LOG_MAX - ADJUSTMENT_LOG_MIN) * 0.5 * (1.0 + jnp.tanh(raw)))


def adjustment_raw(value: float) -> float:
    """The raw parameter whose ``adjustment_value`` is ``value`` (bro_learner.py calculate_init_values)."""
    half = (ADJUSTMENT_LOG_MAX - ADJUSTMENT_LOG_MIN) * 0.5
    return float(np.arctanh((np.log(value) - ADJUSTMENT_LOG_MIN) / half - 1.0))


@struct.dataclass
class BROState:
    actor: trainable.Net
    actor_o: trainable.Net
    critic: trainable.Net
    target_critic: trainable.Target
    log_alpha: jax.Array
    alpha_opt_state: object
    optimism: jax.Array  # raw adjustment parameters (see adjustment_value)
    optimism_opt_state: object
    kl_weight: jax.Array
    kl_weight_opt_state: object
    step: jax.Array


def make_bro(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                           log_std_bound=cfg.log_std_bound)
    actor_o = ActionShift(torso=cfg.actor_o, act_dim=act_dim)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q, outputs=cfg.n_quantiles)
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    # bro_learner.py: Adam with b1 0.5 for the temperature and both adjustments
    alpha_opt = optax.adam(cfg.alpha_lr, b1=0.5)
    adj_opt = optax.adam(cfg.adjustment_lr, b1=0.5)
    target_entropy = float(cfg.target_entropy_coef) * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)
    taus = quantile_midpoints(cfg.n_quantiles)
    log_std_mult = float(np.log(cfg.std_multiplier))

    def init(key):
        k_actor, k_actor_o, k_critic = jax.random.split(key, 3)
        actor_net = trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim)))
        actor_o_net = trainable.init_net(actor_o, net_opt, k_actor_o, jnp.zeros((1, obs_dim)), jnp.zeros((1, act_dim)))
        critic_net = trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim)))
        log_alpha = jnp.log(jnp.float32(cfg.init_temperature))
        optimism = jnp.float32(adjustment_raw(cfg.init_optimism))
        kl_weight = jnp.float32(adjustment_raw(cfg.init_kl_weight))
        return BROState(actor=actor_net, actor_o=actor_o_net, critic=critic_net, target_critic=critic_net.target(),
                        log_alpha=log_alpha, alpha_opt_state=alpha_opt.init(log_alpha),
                        optimism=optimism, optimism_opt_state=adj_opt.init(optimism),
                        kl_weight=kl_weight, kl_weight_opt_state=adj_opt.init(kl_weight), step=jnp.int32(0))

    def optimistic(state: BROState, actor_net, obs, key, params=None):
        """(action, mean_o, mean_c, std_c) of the optimistic actor around ``actor_net``'s policy."""
        (mean_c, log_std_c), _ = actor_net.apply(obs, train=False)
        mean_c, log_std_c = jax.lax.stop_gradient(mean_c), jax.lax.stop_gradient(log_std_c)
        shift, _ = state.actor_o.apply(obs, mean_c, train=False, params=params)
        mean_o = mean_c + shift
        action, _ = tanh_gaussian_sample(mean_o, log_std_c + log_std_mult, key)
        return action, mean_o, mean_c, jnp.exp(log_std_c)

    def act(state: BROState, obs, key, deterministic: bool):
        if deterministic:
            (mean, _), _ = state.actor.apply(obs, train=False)
            return tanh_gaussian_mode(mean)
        return optimistic(state, state.actor, obs, key)[0]

    def critic_values(critic_net, obs, action, beta):
        """Quantiles [B, N] of the critics' mean + beta |q1 - q2| / 2 (two critics)."""
        q, _ = critic_net.apply(jnp.concatenate([obs, action], -1), train=False)
        return q.mean(axis=0) + beta * jnp.abs(q[0] - q[-1]) / 2.0

    def td_target(state: BROState, batch, k_next):
        """Quantile targets [B, N] from the current actor and the target critics (critic.py)."""
        alpha = jnp.exp(state.log_alpha)
        (next_mean, next_log_std), _ = state.actor.apply(batch.next_obs, train=False)
        next_act, next_logp = tanh_gaussian_sample(next_mean, next_log_std, k_next)
        next_q, _ = state.critic.apply_target(state.target_critic, jnp.concatenate([batch.next_obs, next_act], -1))
        next_q = next_q.mean(axis=0) - cfg.pessimism * jnp.abs(next_q[0] - next_q[-1]) / 2.0
        reward, keep = target_terms(batch, cfg.gamma)
        target = cfg.reward_scale * reward[:, None] + keep[:, None] * (next_q - alpha * next_logp[:, None])
        return jax.lax.stop_gradient(target)

    def update(state: BROState, batch, key, weights=None):
        k_next, k_pi, k_o = jax.random.split(key, 3)
        alpha = jnp.exp(state.log_alpha)
        sa = jnp.concatenate([batch.obs, batch.action], -1)
        target = td_target(state, batch, k_next)

        def critic_loss_fn(params):
            q, new_state = state.critic.apply(sa, train=True, params=params)
            losses = jax.vmap(lambda qk: quantile_huber_loss(qk, target, taus, cfg.kappa))(q)
            return losses.sum(), (q, new_state)

        (critic_loss, (q, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params)
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)
        target_critic = critic_net.follow(state.target_critic, cfg.tau)

        def actor_loss_fn(params):
            (mean, log_std), new_state = state.actor.apply(batch.obs, train=True, params=params)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
            q_pi = critic_values(critic_net, batch.obs, pi_act, -cfg.pessimism).mean(-1)
            return (alpha * logp - q_pi).mean(), (logp, new_state)

        (actor_loss, (logp, actor_state)), actor_grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(
            state.actor.params)
        actor_net = state.actor.apply_gradients(actor_grads, cfg.actor_lr, actor_state)
        optimism, kl_weight = adjustment_value(state.optimism), adjustment_value(state.kl_weight)

        def actor_o_loss_fn(params):
            action, mean_o, mean_c, std_c = optimistic(state, actor_net, batch.obs, k_o, params)
            # actor.py update_optimistic: the Gaussian KL of (mean_o, std_o / multiplier) from
            # (mean_c, std_c); std_o / multiplier is std_c, so it is the shift's term alone
            kl = (jnp.square(mean_o - mean_c) / (2 * jnp.square(std_c))).sum(-1)
            q_ub = critic_values(critic_net, batch.obs, action, optimism).mean(-1)
            return -q_ub.mean() + kl_weight * kl.mean(), kl.mean()

        (actor_o_loss, kl), actor_o_grads = jax.value_and_grad(actor_o_loss_fn, has_aux=True)(state.actor_o.params)
        actor_o_net = state.actor_o.apply_gradients(actor_o_grads, cfg.actor_lr)

        entropy = -jax.lax.stop_gradient(logp).mean()
        alpha_loss, g = jax.value_and_grad(lambda la: jnp.exp(la) * (entropy - target_entropy))(state.log_alpha)
        step, alpha_opt_state = alpha_opt.update(g, state.alpha_opt_state)
        log_alpha = state.log_alpha + step
        empirical_kl = jax.lax.stop_gradient(kl) / act_dim
        g = jax.grad(lambda r: (adjustment_value(r) - cfg.pessimism) * (empirical_kl - cfg.kl_target))(state.optimism)
        step, optimism_opt_state = adj_opt.update(g, state.optimism_opt_state)
        new_optimism = state.optimism + step
        g = jax.grad(lambda r: -adjustment_value(r) * (empirical_kl - cfg.kl_target))(state.kl_weight)
        step, kl_weight_opt_state = adj_opt.update(g, state.kl_weight_opt_state)
        new_state = BROState(actor=actor_net, actor_o=actor_o_net, critic=critic_net, target_critic=target_critic,
                             log_alpha=log_alpha, alpha_opt_state=alpha_opt_state, optimism=new_optimism,
                             optimism_opt_state=optimism_opt_state, kl_weight=state.kl_weight + step,
                             kl_weight_opt_state=kl_weight_opt_state, step=state.step + 1)
        td = jnp.abs(q.mean(-1) - target.mean(-1)[None])
        metrics = {
            "critic_loss": critic_loss, "actor_loss": actor_loss, "actor_o_loss": actor_o_loss, "alpha_loss": alpha_loss,
            "temperature": alpha, "entropy": entropy, "kl": kl, "optimism": optimism, "kl_weight": kl_weight,
            "q_mean": q.mean(), "critic_grad_norm": optax.tree.norm(critic_grads),
            "actor_grad_norm": optax.tree.norm(actor_grads), "priority": jax.lax.stop_gradient(td.mean(axis=0)),
        }
        return new_state, metrics

    def critic_probe(state: BROState, batch, key):
        k_next, _, _ = jax.random.split(key, 3)  # update's split: equal keys give equal targets
        sa = jnp.concatenate([batch.obs, batch.action], -1)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(), inputs=(sa,),
                                     target=td_target(state, batch, k_next).mean(-1), to_q=_quantile_mean)

    def networks(state: BROState):
        return {name: (getattr(state, name).module, getattr(state, name).variables())
                for name in ("actor", "actor_o", "critic")}

    def export(p, state: BROState, x):
        return export_policy(p, state.actor.module, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks, export=export,
                           critic_probe=critic_probe)


def _quantile_mean(quantiles):
    """A quantile critic's Q value: the mean of its quantiles."""
    return quantiles.mean(-1)


def _validate(agent_cfg) -> list[str]:
    problems = []
    if agent_cfg.num_q != 2:
        problems.append(f"agent.num_q={agent_cfg.num_q} must be 2 for {agent_cfg.name} (the critics' mean and spread)")
    for key in ("n_quantiles",):
        if not isinstance(agent_cfg[key], int) or agent_cfg[key] < 1:
            problems.append(f"agent.{key}={agent_cfg[key]!r} must be a positive int")
    for key in ("init_optimism", "init_kl_weight", "std_multiplier", "kappa"):
        if not agent_cfg[key] > 0:
            problems.append(f"agent.{key}={agent_cfg[key]!r} must be positive")
    return problems


# Carried keys: read only in traced arithmetic.
BRO_CARRIED = ("actor_lr", "critic_lr", "gamma", "tau", "reward_scale")
for _name, _config in (("bro", bro_config), ("bro_fast", bro_fast_config)):
    register_agent(AgentFamily(
        name=_name, label="BRO" if _name == "bro" else "BRO (fast)", config=_config, make=make_bro,
        networks=("actor", "actor_o", "critic"), learning_rates=("actor_lr", "critic_lr", "alpha_lr", "adjustment_lr"),
        carried=BRO_CARRIED, features=("raw",), validate=_validate,
    ))
