"""FastTD3 (Seo et al., "FastTD3: Simple, Fast, and Capable Reinforcement Learning for Humanoid
Control", 2025) as an agent family: TD3 with a categorical critic for the massively parallel
regime (thousands of envs, batches of tens of thousands, a few updates per vectorized step).

What differs from TD3 (agents/td3.py), as younggyoseo/FastTD3 does it (HP =
fast_td3/hyperparams.py, NET = fast_td3/fast_td3.py, TR = fast_td3/train.py, at 229ed59):

* two C51 critics (h -> h/2 -> h/4 -> 101 logits, ReLU; NET:75-97); the TD target of both is the
  projected distribution of the target critic whose expectation is lower, per sample (clipped
  double Q on distributions, TR:438-456); the loss is the sum of the two cross-entropies;
* no target actor: the next action is the online actor's plus smoothing noise N(0, 0.001^2)
  clipped to 0.5, then clipped to [-1, 1] (TR:427-434);
* the actor (h -> h/2 -> h/4, ReLU, tanh output, last layer N(0, 0.01^2) with zero bias,
  NET:258-286) maximises the lower of the two online critics' expectations (TR:502-509), on
  updates ``step % policy_delay == 1 % policy_delay`` (TR:669-671: with 2 updates per step and
  frequency 2, the second update of each vectorized step);
* the target critic follows after every critic update, tau 0.1 (TR:676);
* exploration: each env's own noise std from U[0.001, 0.4], redrawn at its episode ends
  (agents.env_noise; NET:288-328);
* AdamW, lr 3e-4, weight decay 0.1, betas (0.9, 0.999) for actor and critic (TR:291-312; the
  cosine schedule there ends at the same rate, HP: lr_end = lr, so the rate is constant);
* observation normalisation (x - mean) / (std + 0.01), updated on acting and on every sampled
  batch (agents.obs_norm with form 'std_plus').

Defaults are FastTD3's BaseArgs (HP:31-123): batch 32,768 in all, gamma 0.99, 101 atoms on
[-250, 250], critic h 1024, actor h 512. The run configs set their suites' values (Playground:
1024 envs, gamma 0.97, v +-10; experiments/configs/scaling.py).

Departures, ours: the exploration action is clipped to [-1, 1] before it is stored (FastTD3's env
wrapper clips it, its replay keeps it unclipped); batches are drawn uniformly over all envs'
stored rows (FastTD3 draws batch/num_envs rows from each env's ring); the first
``warmup_env_steps`` act uniformly at random (FastTD3 acts with its noisy policy from the first
step and starts updating after 10 vectorized steps); float32 throughout (FastTD3 runs bf16
autocast); PyTorch's default Linear init (uniform in +-1/sqrt(fan_in), kernel and bias) is
replaced by the torso's ``kernel_init`` with zero biases.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import struct

from largerl_jax.agents import env_noise, interface
from largerl_jax.agents.configs import td3_config
from largerl_jax.agents.distributional import categorical_loss, categorical_problems, categorical_targets
from largerl_jax.agents.env_noise import EnvNoise
from largerl_jax.agents.family import AgentFamily, register_agent
from largerl_jax.agents.feature_view import RAW
from largerl_jax.agents.td import target_terms
from largerl_jax.networks import DeterministicPolicy, QNetwork, export_policy, torso_config, trainable
from largerl_jax.networks.hyper_heads import categorical_q


def env_noise_config() -> ml_collections.ConfigDict:
    """``agent.env_noise`` (agents.env_noise): each env's exploration std is drawn from
    U[low, high] (HP: std_min 0.001, std_max 0.4); ``num_envs``, filled from the run's
    env.num_envs by the 'env_noise' run hook (agents/run_hooks.py)."""
    return ml_collections.ConfigDict({"low": 0.001, "high": 0.4, "num_envs": 0})


def fast_td3_config() -> ml_collections.ConfigDict:
    cfg = td3_config()
    cfg.name = "fast_td3"
    del cfg.exploration_noise  # per env, agent.env_noise
    cfg.actor = torso_config(arch="mlp", width=512, depth=3, widths=(512, 256, 128))  # actor_hidden_dim 512
    cfg.critic = torso_config(arch="mlp", width=1024, depth=3, widths=(1024, 512, 256))  # critic_hidden_dim 1024
    cfg.actor_out_std = 0.01  # init_scale: N(0, 0.01^2) last actor layer, zero bias (NET:285-286)
    cfg.actor_lr = cfg.critic_lr = 3e-4  # actor_learning_rate, critic_learning_rate
    cfg.weight_decay = 0.1  # weight_decay
    cfg.tau = 0.1  # tau, after every critic update
    cfg.gamma = 0.99  # gamma (Playground: 0.97)
    cfg.batch_size = 32_768  # batch_size, over all envs
    cfg.policy_noise, cfg.noise_clip = 0.001, 0.5  # policy_noise, noise_clip
    cfg.policy_delay = 2  # policy_frequency
    cfg.bins, cfg.v_min, cfg.v_max = 101, -250.0, 250.0  # num_atoms, v_min, v_max
    cfg.use_cdq = True  # use_cdq: target of the lower-mean critic, actor on the lower critic
    cfg.env_noise = env_noise_config()
    cfg.obs_norm.enabled = True  # obs_normalization
    cfg.obs_norm.form, cfg.obs_norm.eps, cfg.obs_norm.initial_count = "std_plus", 0.01, 0.0  # UT:402-445
    cfg.obs_norm.from_acting = cfg.obs_norm.from_batches = True  # TR:591, TR:646-649
    return cfg


@struct.dataclass
class FastTD3State:
    actor: trainable.Net
    critic: trainable.Net
    target_critic: trainable.Target
    noise: EnvNoise
    step: jax.Array


def make_fast_td3(cfg, obs_dim: int, act_dim: int, sa_dim: int | None = None) -> interface.Agent:
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    num_envs = int(cfg.env_noise.num_envs)
    if num_envs < 1:
        raise ValueError("agent.env_noise.num_envs is 0: the run fills it from env.num_envs (agents.run_hooks); "
                         "set it when building the agent alone")
    actor = DeterministicPolicy(torso=cfg.actor, act_dim=act_dim, out_std=cfg.actor_out_std)
    critic = QNetwork(torso=cfg.critic, num_q=cfg.num_q, outputs=cfg.bins)
    atoms = jnp.linspace(cfg.v_min, cfg.v_max, cfg.bins)
    net_opt = trainable.Optimizer(cfg.grad_clip, cfg.weight_decay)
    low, high = cfg.env_noise.low, cfg.env_noise.high

    def init(key):
        k_actor, k_critic, k_noise = jax.random.split(key, 3)
        critic_net = trainable.init_net(critic, net_opt, k_critic, jnp.zeros((1, sa_dim)))
        return FastTD3State(
            actor=trainable.init_net(actor, net_opt, k_actor, jnp.zeros((1, obs_dim))),
            critic=critic_net, target_critic=critic_net.target(),
            noise=env_noise.init_env_noise(k_noise, num_envs, low, high), step=jnp.int32(0))

    def act(state: FastTD3State, obs, key, deterministic: bool, view=RAW):
        a, _ = state.actor.apply(view.state(obs), train=False)
        return a if deterministic else env_noise.explore(state.noise, a, key)

    def observe(state: FastTD3State, trans):
        return state.replace(noise=env_noise.redraw_at_ends(state.noise, trans, low, high))

    def q_values(logits):
        return categorical_q(logits, atoms)  # [K, B]

    def td_target(state: FastTD3State, batch, key, view):
        """Projected targets [K, B, bins], gradient stopped."""
        z_next = view.state(batch.next_obs, target=True)
        next_a, _ = state.actor.apply(z_next, train=False)
        noise = jnp.clip(cfg.policy_noise * jax.random.normal(key, next_a.shape), -cfg.noise_clip, cfg.noise_clip)
        next_a = jnp.clip(next_a + noise, -1.0, 1.0)
        next_logits, _ = state.critic.apply_target(state.target_critic, view.state_action(z_next, next_a, target=True))
        reward, keep = target_terms(batch, cfg.gamma)
        returns = cfg.reward_scale * reward[:, None] + keep[:, None] * atoms[None]
        target = categorical_targets(next_logits, returns, cfg.v_min, cfg.v_max, cfg.use_cdq)
        return jax.lax.stop_gradient(target)

    def update(state: FastTD3State, batch, key, view=RAW, weights=None):
        z = view.state(batch.obs)
        z_sa = view.state_action(z, batch.action)
        target = td_target(state, batch, key, view)

        def critic_loss_fn(params):
            logits, new_state = state.critic.apply(z_sa, train=True, params=params)
            return jax.vmap(lambda lg, tg: categorical_loss(lg, tg, weights))(logits, target).sum(), (logits, new_state)

        (critic_loss, (logits, critic_state)), critic_grads = jax.value_and_grad(critic_loss_fn, has_aux=True)(
            state.critic.params)
        critic_net = state.critic.apply_gradients(critic_grads, cfg.critic_lr, critic_state)

        def actor_step(_):
            def actor_loss_fn(params):
                a, new_state = state.actor.apply(z, train=True, params=params)
                q = q_values(critic_net.apply(view.state_action(z, a), train=False)[0])
                return -(q.min(axis=0) if cfg.use_cdq else q.mean(axis=0)).mean(), new_state

            (loss, actor_state), grads = jax.value_and_grad(actor_loss_fn, has_aux=True)(state.actor.params)
            return state.actor.apply_gradients(grads, cfg.actor_lr, actor_state), loss

        def skip(_):
            return state.actor, jnp.float32(jnp.nan)

        # TR:669-671: the actor steps on updates i with i % policy_frequency == 1 (1 % 1 == 0: every update)
        do_actor = (state.step % cfg.policy_delay) == (1 % cfg.policy_delay)
        actor_net, actor_loss = jax.lax.cond(do_actor, actor_step, skip, None)
        q = q_values(logits)
        new_state = state.replace(actor=actor_net, critic=critic_net,
                                  target_critic=critic_net.follow(state.target_critic, cfg.tau), step=state.step + 1)
        metrics = {"critic_loss": critic_loss, "actor_loss": actor_loss, "q_mean": q.mean(),
                   "critic_grad_norm": optax.tree.norm(critic_grads),
                   "priority": jax.lax.stop_gradient(jnp.abs(q - (target * atoms).sum(-1)).mean(axis=0))}
        return new_state, metrics

    def networks(state: FastTD3State):
        return {"actor": (state.actor.module, state.actor.variables()),
                "critic": (state.critic.module, state.critic.variables())}

    def critic_probe(state: FastTD3State, batch, key, view=RAW):
        z_sa = view.state_action(view.state(batch.obs), batch.action)
        target = td_target(state, batch, key, view)
        return interface.CriticProbe(module=critic, variables=state.critic.variables(), inputs=(z_sa,),
                                     target=(target[0] * atoms).sum(-1), to_q=q_values)

    def export(p, state: FastTD3State, x):
        return export_policy(p, actor, state.actor.variables(), "actor", x)

    return interface.Agent(name=cfg.name, init=init, act=act, update=update, networks=networks, observe=observe,
                           optional_metrics=("actor_loss",), critic_probe=critic_probe, export=export)


def validate(agent_cfg) -> list[str]:
    problems = categorical_problems(agent_cfg)
    noise = agent_cfg.env_noise
    if not 0 <= noise.low <= noise.high:
        problems.append(f"agent.env_noise needs 0 <= low <= high, got low={noise.low!r}, high={noise.high!r}")
    return problems


FAMILY = register_agent(AgentFamily(
    name="fast_td3", label="FastTD3", config=fast_td3_config, make=make_fast_td3, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr"), validate=validate,
    carried=("actor_lr", "critic_lr", "policy_noise", "noise_clip", "gamma", "tau", "reward_scale"),
))
