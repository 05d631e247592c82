"""TD3 (Fujimoto et al. 2018): twin critics with clipped double-Q, target-policy smoothing, a
delayed actor and delayed target updates, Gaussian exploration. Actions live in [-1, 1], so the
noise scales are fractions of the maximal action as in the paper."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from largerl_jax.agents import interface, td
from largerl_jax.agents.configs import COMMON_CARRIED, td3_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.networks import trainable
from largerl_jax.agents.feature_view import RAW
from largerl_jax.networks import DeterministicPolicy, QNetwork, export_policy


@struct.dataclass
class TD3State:
    actor: trainable.Net
    critic: trainable.Net
    target_actor: trainable.Target
    target_critic: trainable.Target
    step: jax.Array


def make_td3(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = DeterministicPolicy(torso=cfg.actor, act_dim=act_dim)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q)
    # one Adam (with the config's clip) for every network; the learning rates come with each step
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        actor_net = trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim)))
        critic_net = trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim)))
        return TD3State(
            actor=actor_net,
            critic=critic_net,
            target_actor=actor_net.target(),
            target_critic=critic_net.target(),
            step=jnp.int32(0),
        )

    def act(state: TD3State, obs, key, deterministic: bool, view=RAW):
        a, _ = state.actor.apply(view.state(obs), train=False)
        if deterministic:
            return a
        noise = cfg.exploration_noise * jax.random.normal(key, a.shape)
        return jnp.clip(a + noise, -1.0, 1.0)

    def td_target(state: TD3State, batch, key, view):
        """The clipped double-Q target [B] with target-policy smoothing, gradient stopped."""
        z_next = view.state(batch.next_obs, target=True)
        next_a, _ = state.actor.apply_target(state.target_actor, z_next)
        noise = jnp.clip(
            cfg.policy_noise * jax.random.normal(key, next_a.shape), -cfg.noise_clip, cfg.noise_clip
        )
        next_a = jnp.clip(next_a + noise, -1.0, 1.0)
        next_sa = view.state_action(z_next, next_a, target=True)
        next_q, _ = state.critic.apply_target(state.target_critic, next_sa)
        target = td.batch_target(
            batch, next_q.min(axis=0), cfg.gamma, cfg.reward_scale
        )
        return jax.lax.stop_gradient(target)

    def update(state: TD3State, batch, key, view=RAW, weights=None):
        z = view.state(batch.obs)
        z_sa = view.state_action(z, batch.action)
        target = td_target(state, batch, key, view)

        def critic_loss_fn(params):
            q, new_state = state.critic.apply(z_sa, train=True, params=params)
            return td.td_loss(q, target, cfg.critic_loss, cfg.huber_delta, weights), (q, new_state)

        (critic_loss, (q, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params
        )
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)

        def actor_step(_):
            def actor_loss_fn(params):
                a, new_state = state.actor.apply(z, train=True, params=params)
                q_pi, _ = critic_net.apply(view.state_action(z, a), train=False)
                return -q_pi[0].mean(), new_state

            (loss, actor_state), grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(state.actor.params)
            actor_net = state.actor.apply_gradients(grads, cfg.actor_lr, actor_state)
            return (
                actor_net,
                actor_net.follow(state.target_actor, cfg.tau),
                critic_net.follow(state.target_critic, cfg.tau),
                loss,
            )

        def skip(_):
            return state.actor, state.target_actor, state.target_critic, jnp.float32(jnp.nan)

        # Under vmap over seeds this cond becomes a select (both branches run); unbatched it skips.
        do_actor = (state.step % cfg.policy_delay) == 0
        actor_net, target_actor, target_critic, actor_loss = jax.lax.cond(do_actor, actor_step, skip, None)

        new_state = TD3State(
            actor=actor_net,
            critic=critic_net,
            target_actor=target_actor,
            target_critic=target_critic,
            step=state.step + 1,
        )
        # actor_loss is NaN on steps without an actor update; the trainer averages with nanmean.
        metrics = {
            "critic_loss": critic_loss,
            "actor_loss": actor_loss,
            "q_mean": q.mean(),
            "critic_grad_norm": optax.tree.norm(critic_grads),
            "priority": td.td_priority(q, target),
        }
        return new_state, metrics

    def networks(state: TD3State):
        return {
            "actor": (state.actor.module, state.actor.variables()),
            "critic": (state.critic.module, state.critic.variables()),
        }

    def critic_probe(state: TD3State, batch, key, view=RAW):
        z_sa = view.state_action(view.state(batch.obs), batch.action)
        return interface.CriticProbe(module=critic, variables=networks(state)["critic"][1], inputs=(z_sa,),
                                  target=td_target(state, batch, key, view))

    def export(p, state: TD3State, x):
        return export_policy(p, actor, networks(state)["actor"][1], "actor", x)

    return interface.Agent(
        name="td3", init=init, act=act, update=update, networks=networks, optional_metrics=("actor_loss",),
        critic_probe=critic_probe, export=export,
    )


FAMILY = register_agent(AgentFamily(
    name="td3", label="TD3", config=td3_config, make=make_td3, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr"),
    carried=("actor_lr", "critic_lr", "policy_noise", "noise_clip", "exploration_noise", *COMMON_CARRIED),
))
