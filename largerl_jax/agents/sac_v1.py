"""SAC "v1" (Haarnoja et al. 2018a) as used by the OFENet and pruning papers: a state-value
network V with a Polyak target V, twin Q trained towards r * reward_scale + gamma * V_target(s'),
a fixed temperature (the reward scale plays its role) and a policy loss on Q1.

With ``cfg.pruning.enabled`` it is the pruning paper's XiNet SAC (spec Sec. 5): every hidden
unit of the policy, V and both Qs has a Bernoulli gate. The network being updated samples its
gates (one realisation per minibatch, its own key); every other network runs in evaluation mode
(units scaled by pi), the target V with the online V's gates. Each loss adds weight decay and
the complexity-aware regulariser, and the gates take a projected Adam step inside their window."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from typing import Any

from largerl_jax.agents import interface, td
from largerl_jax.agents.configs import COMMON_CARRIED, sac_v1_config
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.feature_view import RAW
from largerl_jax.networks import GaussianPolicy, QNetwork, VNetwork, export_policy, tanh_gaussian_mode, tanh_gaussian_sample, trainable
from largerl_jax.pruning import gated
from largerl_jax.pruning import gates as gating
from largerl_jax.pruning.agent_shrink import GatedNetworks
from largerl_jax.pruning.config import is_pruned

# XiNet gates in every hidden layer of these (cfg.pruning); Table 4 counts policy, V, Q1, Q2
GATED_NETWORKS = GatedNetworks(
    reads=(("actor", "s"), ("critic", "sa"), ("value", "s")), targets=(("target_value", "value"),),
    table4=(("pi", "actor", None), ("V", "value", None), ("Q1", "critic", 0), ("Q2", "critic", -1)),
)
GATED = tuple(name for name, _ in GATED_NETWORKS.reads)


@struct.dataclass
class SACV1State:
    actor: trainable.Net
    critic: trainable.Net
    value: trainable.Net
    target_value: trainable.Target
    step: jax.Array
    gates: Any = None  # {'actor', 'critic', 'value'}: Gates, the critic's with a member axis; None unpruned


def make_sac_v1(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                          log_std_bound=cfg.log_std_bound)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q)
    value = VNetwork(torso=cfg.value)
    # one Adam (with the config's clip) for every network; the learning rates come with each step
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    alpha = cfg.init_temperature  # fixed; a number, or traced when a grid carries it
    pruning = cfg.get("pruning")
    pruned = is_pruned(cfg)
    if pruned:
        for name in GATED:
            gated.check_prunable(name, cfg[name])
        gate_opts = {
            "actor": gating.optimizer(cfg.actor_lr, pruning.pi_lr),
            "critic": gating.optimizer(cfg.critic_lr, pruning.pi_lr),
            "value": gating.optimizer(cfg.value_lr, pruning.pi_lr),
        }
        # spec 4.6 variant: the training-only networks' thresholds discounted by gamma
        train_only = pruning.gamma if pruning.discount_train_nets else 1.0
        lambdas = {"actor": pruning.rl_lambda, "critic": pruning.rl_lambda * train_only, "value": pruning.rl_lambda * train_only}
        out_dims = {"actor": 2 * act_dim, "critic": 1, "value": 1}

    def init(key):
        k_actor, k_critic, k_value = jax.random.split(key, 3)
        obs = jnp.zeros((1, obs_dim))
        value_net = trainable.init_net(value, net_opt, k_value, obs)
        gates = None
        if pruned:
            gates = {
                "actor": gated.init_network_gates(cfg.actor, obs_dim, gate_opts["actor"], pruning),
                "critic": gated.init_network_gates(cfg.critic, sa_dim, gate_opts["critic"], pruning, (cfg.num_q,)),
                "value": gated.init_network_gates(cfg.value, obs_dim, gate_opts["value"], pruning),
            }
        return SACV1State(
            actor=trainable.init_net(actor, net_opt, k_actor, obs),
            critic=trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim))),
            value=value_net,
            target_value=value_net.target(),
            step=jnp.int32(0),
            gates=gates,
        )

    def eval_masks(state, name):
        return None if state.gates is None else gating.eval_masks(state.gates[name])

    def act(state: SACV1State, obs, key, deterministic: bool, view=RAW):
        (mean, log_std), _ = state.actor.apply(view.state(obs), train=False, masks=eval_masks(state, "actor"))
        if deterministic:
            return tanh_gaussian_mode(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]

    def in_dims(view):
        """Expected input widths (z_s, z_sa) of the gated networks' first layers."""
        dims = view.expected_dims() if hasattr(view, "expected_dims") else None
        return (obs_dim, sa_dim) if dims is None else dims

    def loss_with_gates(name, state, key, loss_fn, d_in):
        """value_and_grad of ``loss_fn(params, masks) -> (loss, aux)`` for network ``name``:
        without pruning masks are None; with it the gates are sampled from ``key`` and the loss
        gains weight decay and the regulariser. Returns (loss, aux, weight grads, pi grads, reg)."""
        net = getattr(state, name)
        if not pruned:
            (loss, aux), grads = jax.value_and_grad(lambda p: loss_fn(p, None), has_aux=True)(net.params)
            return loss, aux, grads, None, jnp.float32(0.0)
        g = state.gates[name]

        def total(params, pi):
            loss, aux = loss_fn(params, gating.train_masks(pi, g.alive, key))
            reg = gated.regulariser(pi, g.alive, d_in, out_dims[name], lambdas[name], pruning.attribution)
            return loss + pruning.weight_decay * trainable.kernel_decay(params) + reg, (loss, aux, reg)

        (_, (loss, aux, reg)), (grads, pi_grads) = jax.value_and_grad(total, argnums=(0, 1), has_aux=True)(net.params, g.pi)
        return loss, aux, grads, pi_grads, reg

    def td_target(state: SACV1State, batch, view):
        """r * reward_scale + gamma * V_target(s') [B], gradient stopped (no randomness)."""
        z_next = view.state(batch.next_obs, target=True)
        next_v, _ = state.value.apply_target(state.target_value, z_next, masks=eval_masks(state, "value"))
        target = td.batch_target(batch, next_v, cfg.gamma, cfg.reward_scale)
        return jax.lax.stop_gradient(target)

    def update(state: SACV1State, batch, key, view=RAW, weights=None):
        key, k_critic, k_actor, k_value = jax.random.split(key, 4)
        d_zs, d_zsa = in_dims(view)
        z = view.state(batch.obs)
        z_sa = view.state_action(z, batch.action)
        q_target = td_target(state, batch, view)

        def critic_loss_fn(params, masks):
            q, new_state = state.critic.apply(z_sa, train=True, params=params, masks=masks)
            return td.td_loss(q, q_target, cfg.critic_loss, cfg.huber_delta, weights), (q, new_state)

        critic_loss, (q, critic_state), critic_grads, critic_pi_grads, critic_reg = loss_with_gates(
            "critic", state, k_critic, critic_loss_fn, d_zsa
        )
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)

        # One policy sample serves both the V target (min over Q, as in Haarnoja 2018a) and the
        # policy loss (reparameterised through Q1). The Qs are in evaluation mode here.
        def actor_loss_fn(params, masks):
            (mean, log_std), new_state = state.actor.apply(z, train=True, params=params, masks=masks)
            pi_act, logp = tanh_gaussian_sample(mean, log_std, key)
            pi_sa = view.state_action(z, pi_act)
            q_pi, _ = critic_net.apply(pi_sa, train=False, masks=eval_masks(state, "critic"))
            loss = (alpha * logp - q_pi[0]).mean()
            return loss, (logp, q_pi, new_state)

        actor_loss, (logp, q_pi, actor_state), actor_grads, actor_pi_grads, actor_reg = loss_with_gates(
            "actor", state, k_actor, actor_loss_fn, d_zs
        )
        actor_net = state.actor.apply_gradients(actor_grads, cfg.actor_lr, actor_state)

        v_target = jax.lax.stop_gradient(q_pi.min(axis=0) - alpha * logp)

        def value_loss_fn(params, masks):
            v, new_state = state.value.apply(z, train=True, params=params, masks=masks)
            # Weighted like the critic loss: under prioritized replay the batch is skewed towards
            # high TD error and the importance weights undo that for every loss on it.
            return td.td_loss(v[None], v_target, cfg.critic_loss, cfg.huber_delta, weights), new_state

        value_loss, value_state, grads, value_pi_grads, value_reg = loss_with_gates(
            "value", state, k_value, value_loss_fn, d_zs
        )
        value_net = state.value.apply_gradients(grads, cfg.value_lr, value_state)

        gates, gate_metrics = state.gates, {}
        if pruned:
            active, round_now = gated.schedule(state.step, pruning)
            pi_grads = {"actor": actor_pi_grads, "critic": critic_pi_grads, "value": value_pi_grads}
            gates = {}
            for name in GATED:
                g = gating.step(state.gates[name], pi_grads[name], gate_opts[name], active)
                gates[name] = gating.round_gates(gating.prune(g, pruning.eps), round_now)
                gate_metrics.update(gating.gate_metrics(name, gates[name]))
            gate_metrics["gate_reg"] = actor_reg + critic_reg + value_reg

        new_state = SACV1State(
            actor=actor_net,
            critic=critic_net,
            value=value_net,
            target_value=value_net.follow(state.target_value, cfg.tau),
            step=state.step + 1,
            gates=gates,
        )
        metrics = {**gate_metrics, 
            "critic_loss": critic_loss,
            "actor_loss": actor_loss,
            "value_loss": value_loss,
            "temperature": jnp.float32(alpha),
            "entropy": -logp.mean(),
            "q_mean": q.mean(),
            "critic_grad_norm": optax.tree.norm(critic_grads),
            "actor_grad_norm": optax.tree.norm(actor_grads),
            "priority": td.td_priority(q, q_target),
        }
        return new_state, metrics

    def networks(state: SACV1State):
        return {
            "actor": (state.actor.module, state.actor.variables()),
            "critic": (state.critic.module, state.critic.variables()),
            "value": (state.value.module, state.value.variables()),
        }

    def critic_probe(state: SACV1State, batch, key, view=RAW):
        # the deterministic critic: a gated one with its evaluation masks, not a sampled subnetwork
        z_sa = view.state_action(view.state(batch.obs), batch.action)
        return interface.CriticProbe(module=state.critic.module, variables=state.critic.variables(), inputs=(z_sa,),
                                  target=td_target(state, batch, view), masks=eval_masks(state, "critic"))

    def gate_widths(state: SACV1State):
        """Expected first-layer widths of the RL networks, read by OFEXiNet's thresholds."""
        if state.gates is None:
            return None
        q = gated.first_width(state.gates["critic"])
        return {"pi": gated.first_width(state.gates["actor"]), "V": gated.first_width(state.gates["value"]),
                "Q1": q[0], "Q2": q[1] if q.shape[0] > 1 else q[0] * 0}

    def export(p, state: SACV1State, x):
        return export_policy(p, state.actor.module, state.actor.variables(), "actor", x)

    def export_gates(state: SACV1State):
        """The policy's evaluation-mode gate scales, which an exported policy multiplies in."""
        if state.gates is None:
            return None
        return {"actor/torso": [np.asarray(m) for m in gating.eval_masks(state.gates["actor"])]}

    return interface.Agent(
        name="sac_v1", init=init, act=act, update=update, networks=networks, gate_widths=gate_widths if pruned else None,
        critic_probe=critic_probe, export=export, export_gates=export_gates,
    )


FAMILY = register_agent(AgentFamily(
    name="sac_v1", label="SAC", config=sac_v1_config, make=make_sac_v1, networks=("actor", "critic", "value"),
    learning_rates=("actor_lr", "critic_lr", "value_lr"),
    carried=("actor_lr", "critic_lr", "value_lr", "init_temperature", *COMMON_CARRIED),
    gated=GATED_NETWORKS,
))
