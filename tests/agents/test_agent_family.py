"""A method is a plug-in: a new agent family declared in this one file (DDPG, Lillicrap et al.
2016: one critic, a deterministic policy, Gaussian exploration, Polyak targets) trains,
checkpoints, resumes, runs as a grid with a carried learning rate and exports, with no other file
of the library knowing it."""
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import struct

from experiments import export as export_cli
from largerl_jax.agents import AgentFamily, agent_family, register_agent
from largerl_jax.agents.interface import Agent
from largerl_jax.agents.td import bootstrap_target, td_loss, td_priority
from largerl_jax.agents.feature_view import RAW
from largerl_jax.networks import DeterministicPolicy, QNetwork, export_policy, torso_config, trainable
from largerl_jax.training import run, run_config, run_points, validate
from largerl_jax.training.hyperparams import CARRIED
from largerl_jax.training.run_files.outputs import Point


@struct.dataclass
class DDPGState:
    actor: trainable.Net
    critic: trainable.Net
    target_actor: trainable.Target
    target_critic: trainable.Target


def ddpg_config():
    cfg = ml_collections.ConfigDict()
    cfg.name = "toy_ddpg"
    cfg.gamma, cfg.tau, cfg.batch_size, cfg.reward_scale = 0.99, 0.005, 64, 1.0
    cfg.actor_lr, cfg.critic_lr, cfg.exploration_noise = 1e-3, 1e-3, 0.1
    cfg.actor = torso_config(arch="mlp", width=16, depth=2, activation="relu")
    cfg.critic = torso_config(arch="mlp", width=16, depth=2, activation="relu")
    return cfg


def make_ddpg(cfg, obs_dim, act_dim, sa_dim=None):
    sa_dim = obs_dim + act_dim if sa_dim is None else sa_dim
    actor, critic = DeterministicPolicy(torso=cfg.actor, act_dim=act_dim), QNetwork(torso=cfg.critic, num_q=1)
    adam = trainable.Optimizer()

    def init(key):
        k_a, k_c = jax.random.split(key)
        a = trainable.init_net(actor, adam, k_a, jnp.zeros((1, obs_dim)))
        c = trainable.init_net(critic, adam, k_c, jnp.zeros((1, sa_dim)))
        return DDPGState(a, c, a.target(), c.target())

    def act(state, obs, key, deterministic, view=RAW):
        a, _ = state.actor.apply(view.state(obs), train=False)
        return a if deterministic else jnp.clip(a + cfg.exploration_noise * jax.random.normal(key, a.shape), -1, 1)

    def update(state, batch, key, view=RAW, weights=None):
        next_a, _ = state.actor.apply_target(state.target_actor, batch.next_obs)
        next_q, _ = state.critic.apply_target(state.target_critic, jnp.concatenate([batch.next_obs, next_a], -1))
        target = bootstrap_target(batch.reward, batch.terminated, next_q[0], cfg.gamma, cfg.reward_scale)
        sa = jnp.concatenate([batch.obs, batch.action], -1)

        def critic_loss(params):
            q, s = state.critic.apply(sa, train=True, params=params)
            return td_loss(q, target, "mse", 1.0, weights), (q, s)

        (c_loss, (q, c_state)), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(state.critic.params)
        c_net = state.critic.apply_gradients(c_grads, cfg.critic_lr, c_state)

        def actor_loss(params):
            a, s = state.actor.apply(batch.obs, train=True, params=params)
            q_pi, _ = c_net.apply(jnp.concatenate([batch.obs, a], -1), train=False)
            return -q_pi[0].mean(), s

        (a_loss, a_state), a_grads = jax.value_and_grad(actor_loss, has_aux=True)(state.actor.params)
        a_net = state.actor.apply_gradients(a_grads, cfg.actor_lr, a_state)
        new = DDPGState(a_net, c_net, a_net.follow(state.target_actor, cfg.tau), c_net.follow(state.target_critic, cfg.tau))
        return new, {"critic_loss": c_loss, "actor_loss": a_loss, "critic_grad_norm": optax.tree.norm(c_grads),
                     "priority": td_priority(q, target)}

    def networks(state):
        return {"actor": (actor, state.actor.variables()), "critic": (critic, state.critic.variables())}

    def export(p, state, x):
        return export_policy(p, actor, state.actor.variables(), "actor", x)

    return Agent(name="toy_ddpg", init=init, act=act, update=update, networks=networks, export=export)


FAMILY = register_agent(AgentFamily(
    name="toy_ddpg", label="DDPG", config=ddpg_config, make=make_ddpg, networks=("actor", "critic"),
    learning_rates=("actor_lr", "critic_lr"), carried=("actor_lr", "critic_lr", "gamma", "tau"),
    features=("raw",),
))


def _tiny():
    cfg = run_config(agent="toy_ddpg", env="pendulum")
    cfg.env.num_envs, cfg.env.eval_episodes = 4, 2
    cfg.total_env_steps, cfg.warmup_env_steps, cfg.replay_capacity = 1200, 400, 800
    cfg.log_every_env_steps = cfg.eval_every_env_steps = cfg.checkpoint_every_env_steps = 400
    cfg.updates_per_iteration, cfg.srank_batch_size = 2, 0
    return cfg


def test_the_family_is_declared_once_and_read_everywhere():
    assert agent_family("toy_ddpg") is FAMILY
    assert "agent.actor_lr" in CARRIED
    bad = _tiny()
    bad.agent.critic_lr = -1.0
    try:
        validate(bad)
    except ValueError as e:
        assert "agent.critic_lr=-1.0 must be a positive finite number" in str(e)
    else:
        raise AssertionError("a negative learning rate of the new family was accepted")


def test_a_new_family_trains_checkpoints_resumes_grids_and_exports(tmp_path, capsys):
    cfg = _tiny()
    full = run(cfg, workdir=str(tmp_path / "full"), num_seeds=2, progress=False)
    assert [r["env_steps"] for r in full] == [400, 400, 800, 800, 1200, 1200]
    assert all(np.isfinite(r["critic_loss"]) for r in full if r["env_steps"] > 400)

    part = tmp_path / "part"
    run(cfg, workdir=str(part), num_seeds=2, progress=False, stop_after_env_steps=800)
    resumed = run(cfg, workdir=str(part), num_seeds=2, resume=True, progress=False)
    assert [(r["seed"], r["env_steps"]) for r in resumed] == [(r["seed"], r["env_steps"]) for r in full]
    for a, b in zip(full, resumed):
        assert a.keys() == b.keys()
        for k in ("eval_return", "critic_loss", "actor_loss"):
            if k in a:  # the warm-up evaluation has no losses yet
                np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5)

    points = []
    for lr in (1e-3, 3e-3):
        point = _tiny()
        point.agent.actor_lr = lr
        points.append(Point(point, str(tmp_path / f"lr{lr}"), f"lr{lr}"))
    grid = run_points(points, 2, carried=("agent.actor_lr",), progress=False)
    # lr 1e-3 is the base run; a traced learning rate compiles to a different float order
    np.testing.assert_allclose([r["eval_return"] for r in grid[0]], [r["eval_return"] for r in full], rtol=1e-4)
    assert abs(grid[1][-1]["eval_return"] - full[-1]["eval_return"]) > 1e-2

    out = tmp_path / "policy.npz"
    assert export_cli.main([f"--workdir={tmp_path / 'full'}", f"--out={out}"]) == 0
    assert out.exists() and "max |NumPy - JAX action|" in capsys.readouterr().out
