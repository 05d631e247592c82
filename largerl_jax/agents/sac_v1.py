"""SAC "v1" (Haarnoja et al. 2018a) as used by the OFENet and pruning papers: a state-value
network V with a Polyak target V, twin Q trained towards r * reward_scale + gamma * V_target(s'),
a fixed temperature (the reward scale plays its role) and a policy loss on Q1."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from largerl_jax.agents import common
from largerl_jax.networks import trainable
from largerl_jax.agents.features import RAW
from largerl_jax.networks import GaussianPolicy, QNetwork, VNetwork, tanh_gaussian_mode, tanh_gaussian_sample


@struct.dataclass
class SACV1State:
    actor: trainable.Net
    critic: trainable.Net
    value: trainable.Net
    target_value: trainable.Target
    step: jax.Array


def make_sac_v1(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> common.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q)
    value = VNetwork(torso=cfg.value)
    actor_opt = trainable.make_adam(cfg.actor_lr, cfg.grad_clip)
    critic_opt = trainable.make_adam(cfg.critic_lr, cfg.grad_clip)
    value_opt = trainable.make_adam(cfg.value_lr, cfg.grad_clip)
    alpha = float(cfg.init_temperature)

    def init(key):
        k_actor, k_critic, k_value = jax.random.split(key, 3)
        obs = jnp.zeros((1, obs_dim))
        value_net = trainable.init_net(value, value_opt, k_value, obs)
        return SACV1State(
            actor=trainable.init_net(actor, actor_opt, k_actor, obs),
            critic=trainable.init_net(critic, critic_opt, k_critic, jnp.zeros((1, sa_dim))),
            value=value_net,
            target_value=trainable.init_target(value_net),
            step=jnp.int32(0),
        )

    def act(state: SACV1State, obs, key, deterministic: bool, view=RAW):
        (mean, log_std), _ = trainable.apply(actor, state.actor.params, state.actor.state, view.state(obs), train=False)
        if deterministic:
            return tanh_gaussian_mode(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]

    def update(state: SACV1State, batch, key, view=RAW, weights=None):
        z = view.state(batch.obs)
        z_sa = view.state_action(z, batch.action)
        z_next = view.state(batch.next_obs, target=True)
        next_v, _ = trainable.apply(
            value, state.target_value.params, trainable.target_collections(state.target_value, state.value), z_next,
            train=False,
        )
        q_target = common.bootstrap_target(batch.reward, batch.terminated, next_v, cfg.gamma, cfg.reward_scale)

        def critic_loss_fn(params):
            q, new_state = trainable.apply(critic, params, state.critic.state, z_sa, train=True)
            return common.td_loss(q, q_target, cfg.critic_loss, cfg.huber_delta, weights), (q, new_state)

        (critic_loss, (q, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params
        )
        critic_net = trainable.apply_gradients(state.critic, critic_opt, critic_grads, critic_state)

        # One policy sample serves both the V target (min over Q, as in Haarnoja 2018a) and the
        # policy loss (reparameterised through Q1).
        def actor_loss_fn(params):
            (mean, log_std), new_state = trainable.apply(actor, params, state.actor.state, z, train=True)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, key)
            pi_sa = view.state_action(z, pi_act)
            q_pi, _ = trainable.apply(critic, critic_net.params, critic_net.state, pi_sa, train=False)
            loss = (alpha * logp - q_pi[0]).mean()
            return loss, (logp, q_pi, new_state)

        (actor_loss, (logp, q_pi, actor_state)), actor_grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(
            state.actor.params
        )
        actor_net = trainable.apply_gradients(state.actor, actor_opt, actor_grads, actor_state)

        v_target = jax.lax.stop_gradient(q_pi.min(axis=0) - alpha * logp)

        def value_loss_fn(params):
            v, new_state = trainable.apply(value, params, state.value.state, z, train=True)
            # Weighted like the critic loss: under prioritized replay the batch is skewed towards
            # high TD error and the importance weights undo that for every loss on it.
            return common.td_loss(v[None], v_target, cfg.critic_loss, cfg.huber_delta, weights), new_state

        (value_loss, value_state), grads = jax.value_and_grad(value_loss_fn, has_aux=True)(state.value.params)
        value_net = trainable.apply_gradients(state.value, value_opt, grads, value_state)

        new_state = SACV1State(
            actor=actor_net,
            critic=critic_net,
            value=value_net,
            target_value=trainable.update_target(state.target_value, value_net, cfg.tau),
            step=state.step + 1,
        )
        metrics = {
            "critic_loss": critic_loss,
            "actor_loss": actor_loss,
            "value_loss": value_loss,
            "temperature": jnp.float32(alpha),
            "entropy": -logp.mean(),
            "q_mean": q.mean(),
            "critic_grad_norm": optax.tree.norm(critic_grads),
            "actor_grad_norm": optax.tree.norm(actor_grads),
            "priority": common.td_priority(q, q_target),
        }
        return new_state, metrics

    def networks(state: SACV1State):
        return {
            "actor": (actor, {"params": state.actor.params, **state.actor.state}),
            "critic": (critic, {"params": state.critic.params, **state.critic.state}),
            "value": (value, {"params": state.value.params, **state.value.state}),
        }

    return common.Agent(name="sac_v1", init=init, act=act, update=update, networks=networks)
