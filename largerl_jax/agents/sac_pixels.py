"""SAC from pixels as DrQ (Kostrikov et al. 2020), the agent of Bjorck et al.'s pixel runs.

Networks (networks/pixel_heads.py): the critic owns the convs and a feature head; the actor has
its own feature head on the critic's conv features, gradient stopped, so the critic loss is the
only loss that trains the convs. The target critic is a Polyak average of the whole critic,
encoder included, and reads the next observation through its own convs.

One update, on a batch of uint8 stacks:
* augmentation inside the update: K random shifts of obs and M of next_obs (DrQ's K = M = 2),
  each copy with its own key;
* target per next copy: a' ~ pi(. | actor head on the online critic's convs), then
  r + gamma (1 - term) (min_i Q_target(s', a') - alpha log pi(a' | s')); averaged over the M
  copies, gradient stopped (DrQ's Eq. 3);
* critic: the TD loss of each of the K copies against that target, summed (DrQ's code);
* actor and temperature every ``actor_update_every`` steps on the first obs copy, with the
  updated critic's Q and convs detached, differentiated in the actor's parameters only.
Acting reads un-augmented stacks.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.agents import interface, td
from largerl_jax.agents.configs import COMMON_CARRIED, sac_pixels_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.networks import trainable
from largerl_jax.agents.sac import SACState, finish_update, initial_state
from largerl_jax.networks import tanh_gaussian_mode, tanh_gaussian_sample
from largerl_jax.networks.augment import random_shift
from largerl_jax.networks.encoder import PixelConvs
from largerl_jax.networks.pixel_heads import PixelActor, PixelCritic, export_pixel_actor

FRAME_SHAPE = (84, 84, 3)


def _augment(key, images, copies: int, pad: int):
    """[B, ...] -> [copies * B, ...], each copy shifted with its own key."""
    return jnp.concatenate([random_shift(k, images, pad) for k in jax.random.split(key, copies)])


def make_sac_pixels(cfg, obs_dim: int, act_dim: int, frame_shape=None) -> interface.Agent:
    """``frame_shape``: one frame [H, W, c] (None: DrQ's 84x84 RGB); observations are stacks
    [H, W, c * cfg.frame_stack]."""
    if cfg.get("features", "raw") != "raw":
        raise ValueError("agent sac_pixels reads pixels through its encoder: agent.features must be 'raw'")
    h, w, c = frame_shape or FRAME_SHAPE
    if obs_dim != h * w * c:
        raise ValueError(f"sac_pixels: obs_dim={obs_dim} is not one {h}x{w}x{c} frame")
    stack_shape = (h, w, c * cfg.frame_stack)
    critic = PixelCritic(torso=cfg.critic, num_q=cfg.num_q)
    actor = PixelActor(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                          log_std_bound=cfg.log_std_bound)
    convs = PixelConvs()
    # one Adam (with the config's clip) for every network; the learning rates come with each step
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    alpha_opt = trainable.make_adam(cfg.alpha_lr)
    target_entropy = float(cfg.get("target_entropy_coef", -1.0)) * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)
    n_obs, n_next, pad = cfg.augment_obs, cfg.augment_next_obs, cfg.shift_pad

    def conv_features(critic_params, obs):
        # the actor's view of the tied convs: no gradient reaches them from the actor's losses
        return jax.lax.stop_gradient(convs.apply({"params": critic_params["encoder"]["convs"]}, obs))

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        obs = jnp.zeros((1,) + stack_shape, jnp.uint8)
        critic_net = trainable.init_net(critic, net_opt, k_critic, obs, jnp.zeros((1, act_dim)))
        conv_dim = jax.eval_shape(lambda: conv_features(critic_net.params, obs)).shape[-1]
        actor_net = trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, conv_dim)))
        return initial_state(cfg, alpha_opt, actor_net, critic_net)

    def act(state: SACState, obs, key, deterministic: bool):
        (mean, log_std), _ = state.actor.apply(conv_features(state.critic.params, obs), train=False)
        if deterministic:
            return tanh_gaussian_mode(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]

    def td_target(state: SACState, batch, k_aug_next, k_next):
        """DrQ's target [B]: the soft target of M shifted copies of next_obs, averaged, gradient
        stopped."""
        b = batch.reward.shape[0]
        alpha = jnp.exp(state.log_alpha)
        next_obs = _augment(k_aug_next, batch.next_obs, n_next, pad)  # [M * B, ...]
        (next_mean, next_log_std), _ = state.actor.apply(conv_features(state.critic.params, next_obs), train=False)
        next_act, next_logp = tanh_gaussian_sample(next_mean, next_log_std, k_next)
        next_q, _ = state.critic.apply_target(state.target_critic, next_obs, next_act)
        next_v = (next_q.min(axis=0) - alpha * next_logp).reshape(n_next, b)
        target = td.batch_target(batch, next_v, cfg.gamma, cfg.reward_scale).mean(0)
        return jax.lax.stop_gradient(target)

    def update(state: SACState, batch, key, weights=None):
        if weights is not None:
            raise ValueError("sac_pixels supports uniform replay only")
        k_aug_obs, k_aug_next, k_next, k_pi = jax.random.split(key, 4)
        b = batch.reward.shape[0]
        alpha = jnp.exp(state.log_alpha)
        obs = _augment(k_aug_obs, batch.obs, n_obs, pad)  # [K * B, ...]
        target = td_target(state, batch, k_aug_next, k_next)
        actions = jnp.tile(batch.action, (n_obs, 1))

        def critic_loss_fn(params):
            q, new_state = state.critic.apply(obs, actions, train=True, params=params)
            # td_loss averages over the K * B rows: times K is DrQ's sum over the copies
            loss = n_obs * td.td_loss(q, jnp.tile(target, n_obs), cfg.critic_loss, cfg.huber_delta)
            return loss, (q, new_state)

        (critic_loss, (q, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params
        )
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)

        first = obs[:b]
        first_features = conv_features(critic_net.params, first)

        def actor_loss_fn(params):
            (mean, log_std), new_state = state.actor.apply(first_features, train=True, params=params)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
            q_pi, _ = critic_net.apply(first, pi_act, train=False, stop_conv_gradient=True)
            return (alpha * logp - q_pi.min(axis=0)).mean(), (logp, new_state)

        (actor_loss, (logp, actor_state)), actor_grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(
            state.actor.params
        )
        actor_net = state.actor.apply_gradients(actor_grads, cfg.actor_lr, actor_state)
        new_state, metrics = finish_update(
            cfg, alpha_opt, target_entropy, state, critic_net, actor_net, logp, critic_grads, actor_grads
        )
        metrics.update(critic_loss=critic_loss, actor_loss=actor_loss, q_mean=q.mean())
        metrics["priority"] = td.td_priority(q[:, :b], target)
        return new_state, metrics

    def networks(state: SACState):
        return {
            "actor": (state.actor.module, state.actor.variables()),
            "critic": (state.critic.module, state.critic.variables()),
        }

    def critic_probe(state: SACState, batch, key):
        # The probed critic is the whole PixelCritic, encoder included, on the un-augmented
        # stacks (the observations the agent acts on); the target is update's for this key.
        _, k_aug_next, k_next, _ = jax.random.split(key, 4)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(),
                                  inputs=(batch.obs, batch.action), target=td_target(state, batch, k_aug_next, k_next))

    def export(p, state: SACState, x):
        # the actor reads the critic's convs (gradient stopped), so the export carries them
        return export_pixel_actor(p, state.actor.module, state.actor.variables(), state.critic.variables(), x)

    return interface.Agent(name="sac_pixels", init=init, act=act, update=update, networks=networks,
                        frame_stack=cfg.frame_stack, critic_probe=critic_probe, export=export)


FAMILY = register_agent(AgentFamily(
    name="sac_pixels", label="SAC (pixels)", config=sac_pixels_config, make=make_sac_pixels,
    networks=("actor", "critic"), learning_rates=("actor_lr", "critic_lr", "alpha_lr"),
    carried=("actor_lr", "critic_lr", "alpha_lr", "init_temperature", *COMMON_CARRIED),
    reads_frames=True, features=("raw",),  # its encoder makes the features
))
