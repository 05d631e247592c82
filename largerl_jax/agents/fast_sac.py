"""FastSAC (amazon-far/holosoma, 2025) as an agent family: SAC with C51 critics for the massively
parallel regime, as holosoma's ``agents/fast_sac`` does it (CT = config_types/algo.py, CV =
config_values/algo.py, SAC = agents/fast_sac/fast_sac.py, AG = agents/fast_sac/fast_sac_agent.py,
under src/holosoma/holosoma/, at fc600e7):

* networks of Linear -> LayerNorm -> SiLU blocks (torso ``layer_norm``, activation 'swish'):
  critic h -> h/2 -> h/4 -> 101 logits with h 768 (SAC:224-235), actor h -> h/2 -> h/4 with h 512
  and zero-initialised mean and log-std heads (SAC:61-97), log-std tanh-rescaled into [-5, 0];
* each critic regresses the projection of its own target network's next distribution (no
  clipped double Q), the entropy term folded into the returns:
  r + gamma^n (1 - d) (z_j - alpha log pi(a'|s')), a' from the online actor (AG:421-441); the
  loss is the sum over critics of the batch-mean cross-entropies;
* the temperature steps with every critic update, on the next-state log-probabilities of that
  update (AG:459-475); initial 0.001, target entropy 0 (target_entropy_ratio 0);
* the actor, on the mean of the critics (AG:504-508), steps on updates i with
  ``i % policy_frequency == 1`` (with 8 updates per step and frequency 4: the 2nd and 6th);
* the target critics follow after every critic update, tau 0.125;
* AdamW with betas (0.9, 0.95), lr 3e-4, weight decay 0.001 for actor and critic (AG:316-332);
  the temperature's AdamW keeps PyTorch's default weight decay 0.01;
* observation normalisation (x - mean) / (std + 0.01) from sampled batches only (the acting
  call passes update=False, AG:685).

Defaults: CT:192-306 (batch 8192 in all, gamma 0.97, 101 atoms on [-20, 20]). The run configs
add 4096 envs and 8 updates per vectorized step (experiments/configs/scaling.py).

Departures, ours: actions stay in the env's [-1, 1] box (holosoma scales them per joint); no
symmetry augmentation (holosoma's locomotion presets mirror the batch); batches drawn uniformly
over all envs' rows (holosoma samples one large batch per step, split into 8 slices that each
cover a subset of the envs); float32 (holosoma runs bf16 autocast); the torso's kernel init with
zero biases in place of PyTorch's default Linear init.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import optax

from largerl_jax.agents import interface
from largerl_jax.agents.configs import sac_config
from largerl_jax.agents.distributional import categorical_loss, categorical_problems, categorical_targets
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.feature_view import RAW
from largerl_jax.agents.sac import SACState, initial_state, temperature_step
from largerl_jax.agents.td import target_terms
from largerl_jax.networks import GaussianPolicy, QNetwork, export_policy, tanh_gaussian_mode, tanh_gaussian_sample
from largerl_jax.networks import torso_config, trainable
from largerl_jax.networks.hyper_heads import categorical_q

TEMPERATURE_WEIGHT_DECAY = 0.01  # torch.optim.AdamW's default, which holosoma's alpha optimizer keeps


def fast_sac_config() -> ml_collections.ConfigDict:
    cfg = sac_config()
    cfg.name = "fast_sac"
    ln = dict(arch="mlp", depth=3, activation="swish", layer_norm=True, ln_epsilon=1e-5)  # PyTorch's LayerNorm eps
    cfg.actor = torso_config(width=512, widths=(512, 256, 128), **ln)  # actor_hidden_dim
    cfg.critic = torso_config(width=768, widths=(768, 384, 192), **ln)  # critic_hidden_dim, use_layer_norm
    cfg.actor_out_std = 0.0  # zero-initialised mean and log-std heads (SAC:72-79)
    cfg.actor_lr = cfg.critic_lr = cfg.alpha_lr = 3e-4  # critic/actor/alpha_learning_rate
    cfg.adam_b2 = 0.95  # betas (0.9, 0.95)
    cfg.weight_decay = 0.001  # weight_decay
    cfg.tau, cfg.gamma, cfg.batch_size = 0.125, 0.97, 8192  # tau, gamma, batch_size (over all envs)
    cfg.bins, cfg.v_min, cfg.v_max = 101, -20.0, 20.0  # num_atoms, v_min, v_max
    cfg.init_temperature = 0.001  # alpha_init
    cfg.target_entropy_coef = 0.0  # target_entropy_ratio: target -|A| x 0
    cfg.log_std_min, cfg.log_std_max, cfg.log_std_bound = -5.0, 0.0, "tanh"  # log_std_min/max, tanh rescale
    cfg.policy_delay = 4  # policy_frequency
    cfg.obs_norm.enabled = True  # obs_normalization
    cfg.obs_norm.form, cfg.obs_norm.eps, cfg.obs_norm.initial_count = "std_plus", 0.01, 0.0
    cfg.obs_norm.from_acting, cfg.obs_norm.from_batches = False, True
    return cfg


def make_fast_sac(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor = GaussianPolicy(torso=cfg.actor, act_dim=act_dim, log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max,
                           log_std_bound=cfg.log_std_bound, out_std=cfg.actor_out_std)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q, outputs=cfg.bins)
    atoms = jnp.linspace(cfg.v_min, cfg.v_max, cfg.bins)
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay, b2=cfg.adam_b2)
    alpha_opt = trainable.make_adam(cfg.alpha_lr, weight_decay=TEMPERATURE_WEIGHT_DECAY, b2=cfg.adam_b2)
    target_entropy = float(cfg.target_entropy_coef) * act_dim if cfg.target_entropy is None else float(cfg.target_entropy)

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        actor_net = trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim)))
        critic_net = trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim)))
        return initial_state(cfg, alpha_opt, actor_net, critic_net)

    def act(state: SACState, obs, key, deterministic: bool, view=RAW):
        (mean, log_std), _ = state.actor.apply(view.state(obs), train=False)
        return tanh_gaussian_mode(mean) if deterministic else tanh_gaussian_sample(mean, log_std, key)[0]

    def td_target(state: SACState, batch, key, view):
        """(projected targets [K, B, bins], the next actions' log-probabilities [B])."""
        z_next = view.state(batch.next_obs, target=True)
        (mean, log_std), _ = state.actor.apply(z_next, train=False)
        next_act, next_logp = tanh_gaussian_sample(mean, log_std, key)
        next_logits, _ = state.critic.apply_target(state.target_critic, view.state_action(z_next, next_act, target=True))
        reward, keep = target_terms(batch, cfg.gamma)
        alpha = jnp.exp(state.log_alpha)
        returns = cfg.reward_scale * reward[:, None] + keep[:, None] * (atoms[None] - alpha * next_logp[:, None])
        target = categorical_targets(next_logits, returns, cfg.v_min, cfg.v_max, lower_mean=False)
        return jax.lax.stop_gradient(target), jax.lax.stop_gradient(next_logp)

    def update(state: SACState, batch, key, view=RAW, weights=None):
        k_next, k_pi = jax.random.split(key)
        z = view.state(batch.obs)
        sa = view.state_action(z, batch.action)
        target, next_logp = td_target(state, batch, k_next, view)

        def critic_loss_fn(params):
            logits, new_state = state.critic.apply(sa, train=True, params=params)
            return jax.vmap(lambda lg, tg: categorical_loss(lg, tg, weights))(logits, target).sum(), (logits, new_state)

        (critic_loss, (logits, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params)
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)
        log_alpha, alpha_opt_state, alpha_loss, entropy = temperature_step(cfg, alpha_opt, target_entropy, state,
                                                                           next_logp)
        alpha = jnp.exp(log_alpha)

        def actor_step(_):
            def actor_loss_fn(params):
                (mean, log_std), new_state = state.actor.apply(z, train=True, params=params)
                pi_act, logp = tanh_gaussian_sample(mean, log_std, k_pi)
                q = categorical_q(critic_net.apply(view.state_action(z, pi_act), train=False)[0], atoms)
                return (alpha * logp - q.mean(axis=0)).mean(), new_state

            (loss, actor_state), grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(state.actor.params)
            return state.actor.apply_gradients(grads, cfg.actor_lr, actor_state), loss

        def skip(_):
            return state.actor, jnp.float32(jnp.nan)

        # AG:735-771: the actor steps on updates i with i % policy_frequency == 1
        do_actor = (state.step % cfg.policy_delay) == (1 % cfg.policy_delay)
        actor_net, actor_loss = jax.lax.cond(do_actor, actor_step, skip, None)
        q = categorical_q(logits, atoms)
        new_state = SACState(actor=actor_net, critic=critic_net, target_critic=critic_net.follow(state.target_critic, cfg.tau),
                             log_alpha=log_alpha, alpha_opt_state=alpha_opt_state, step=state.step + 1)
        metrics = {"critic_loss": critic_loss, "actor_loss": actor_loss, "alpha_loss": alpha_loss, "temperature": alpha,
                   "entropy": entropy, "q_mean": q.mean(), "critic_grad_norm": optax.tree.norm(critic_grads),
                   "priority": jax.lax.stop_gradient(jnp.abs(q - (target * atoms).sum(-1)).mean(axis=0))}
        return new_state, metrics

    def networks(state: SACState):
        return {"actor": (state.actor.module, state.actor.variables()),
                "critic": (state.critic.module, state.critic.variables())}

    def critic_probe(state: SACState, batch, key, view=RAW):
        k_next, _ = jax.random.split(key)
        sa = view.state_action(view.state(batch.obs), batch.action)
        target, _ = td_target(state, batch, k_next, view)
        return interface.CriticProbe(module=critic, variables=state.critic.variables(), inputs=(sa,),
                                     target=(target * atoms).sum(-1).mean(axis=0),
                                     to_q=lambda lg: categorical_q(lg, atoms))

    def export(p, state: SACState, x):
        return export_policy(p, actor, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks,
                           optional_metrics=("actor_loss",), critic_probe=critic_probe, export=export)


def validate(agent_cfg) -> list[str]:
    problems = categorical_problems(agent_cfg)
    if not 0.0 < agent_cfg.adam_b2 < 1.0:
        problems.append(f"agent.adam_b2={agent_cfg.adam_b2!r} must be in (0, 1)")
    return problems


FAMILY = register_agent(AgentFamily(
    name="fast_sac", label="FastSAC", config=fast_sac_config, make=make_fast_sac, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr", "alpha_lr"), validate=validate,
    carried=("actor_lr", "critic_lr", "alpha_lr", "init_temperature", "gamma", "tau", "reward_scale"),
))
