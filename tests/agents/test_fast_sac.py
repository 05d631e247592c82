"""FastSAC (agents.fast_sac): holosoma's defaults, each critic on its own target's projection with
the entropy term in the returns, the temperature on every update, the actor on updates 1 and 5
of each 8, and the normaliser fed by sampled batches only."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import get_config
from experiments.inspect import network_tables
from fake_transitions import gaussian
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.agents.distributional import categorical_projection
from largerl_jax.networks import tanh_gaussian_sample
from largerl_jax.replay import Transition

OBS, ACT, B = 3, 2, 16


def _tiny():
    cfg = agent_config("fast_sac")
    cfg.actor.widths, cfg.critic.widths = (8, 8, 4), (16, 8, 8)
    cfg.batch_size, cfg.bins, cfg.v_min, cfg.v_max = B, 11, -5.0, 5.0
    return cfg


def _moved(a, b) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_defaults_are_holosomas():
    cfg = agent_config("fast_sac")
    assert cfg.critic.widths == (768, 384, 192) and cfg.actor.widths == (512, 256, 128)
    assert cfg.critic.layer_norm and cfg.critic.activation == "swish" and cfg.actor.layer_norm
    assert (cfg.bins, cfg.v_min, cfg.v_max, cfg.batch_size, cfg.gamma, cfg.tau) == (101, -20.0, 20.0, 8192, 0.97, 0.125)
    assert (cfg.actor_lr, cfg.weight_decay, cfg.adam_b2, cfg.policy_delay) == (3e-4, 0.001, 0.95, 4)
    assert (cfg.init_temperature, cfg.target_entropy_coef, cfg.log_std_min, cfg.log_std_max) == (0.001, 0.0, -5.0, 0.0)
    assert not cfg.obs_norm.from_acting and cfg.obs_norm.from_batches and cfg.obs_norm.form == "std_plus"
    run = get_config("dmc_walker_walk_fast_sac")
    assert (run.env.num_envs, run.agent.batch_size, run.updates_per_iteration, run.replay_capacity) == (
        4096, 8192, 8, 4096 * 1024)
    # zero-initialised heads: every observation starts at mean 0 and log-std -2.5, the middle of [-5, 0]
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    (mean, log_std), _ = state.agent.actor.apply(jax.random.normal(jax.random.PRNGKey(1), (5, OBS)), train=False)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_allclose(log_std, -2.5)


def test_each_critic_regresses_its_own_targets_projection_with_the_entropy_term():
    cfg = _tiny()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    state = state.replace(agent=state.agent.replace(log_alpha=jnp.log(jnp.float32(0.3))))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    key = jax.random.PRNGKey(2)
    probe = agent.critic_probe(state, batch, key)
    inner, stats = state.agent, state.obs_stats
    norm = lambda x: (x - stats.mean) / (jnp.sqrt(stats.var) + 0.01)  # noqa: E731
    k_next, _ = jax.random.split(key)
    (mean, log_std), _ = inner.actor.apply(norm(batch.next_obs), train=False)
    a, logp = tanh_gaussian_sample(mean, log_std, k_next)
    logits, _ = inner.critic.apply_target(inner.target_critic, jnp.concatenate([norm(batch.next_obs), a], -1))
    atoms = jnp.linspace(-5.0, 5.0, 11)
    keep = (cfg.gamma * (1.0 - batch.terminated))[:, None]
    returns = batch.reward[:, None] + keep * (atoms[None] - 0.3 * logp[:, None])
    own = [categorical_projection(jax.nn.softmax(logits[k], -1), returns, -5.0, 5.0) for k in range(2)]
    # the probe's target is the members' mean expectation; each member's own differs
    means = [np.asarray((p * atoms).sum(-1)) for p in own]
    np.testing.assert_allclose(probe.target, (means[0] + means[1]) / 2, rtol=1e-5, atol=1e-5)
    assert not np.allclose(means[0], means[1], atol=1e-3)


def test_temperature_every_update_actor_on_updates_1_and_5_of_8():
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    actor, alpha = [], []
    for i in range(8):
        new, metrics = update(state, gaussian(jax.random.PRNGKey(10 + i), B, OBS, ACT), jax.random.PRNGKey(i))
        actor.append(_moved(state.agent.actor.params, new.agent.actor.params))
        alpha.append(bool(new.agent.log_alpha != state.agent.log_alpha))
        for t_old, p_new, t_new in zip(jax.tree.leaves(state.agent.target_critic.params),
                                       jax.tree.leaves(new.agent.critic.params),
                                       jax.tree.leaves(new.agent.target_critic.params)):
            np.testing.assert_allclose(t_new, 0.875 * t_old + 0.125 * p_new, rtol=1e-5, atol=1e-6)
        assert np.isfinite(float(metrics["critic_loss"]))
        state = new
    assert actor == [False, True, False, False, False, True, False, False]
    assert all(alpha)


def test_the_normaliser_takes_in_sampled_batches_only():
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    acted = 5.0 + jax.random.normal(jax.random.PRNGKey(1), (4, OBS))
    observed = agent.observe(state, Transition(obs=acted, action=jnp.zeros((4, ACT)), reward=jnp.zeros(4),
                                               next_obs=acted, terminated=jnp.zeros(4), truncated=jnp.zeros(4)))
    np.testing.assert_array_equal(observed.obs_stats.mean, state.obs_stats.mean)
    batch = gaussian(jax.random.PRNGKey(2), B, OBS, ACT)
    new, _ = agent.update(observed, batch, jax.random.PRNGKey(3))
    stream = np.concatenate([batch.obs, batch.next_obs]).astype(np.float64)
    np.testing.assert_allclose(new.obs_stats.mean, stream.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(new.obs_stats.var, stream.var(0), rtol=1e-4, atol=1e-5)


def test_inspect_shows_the_widths():
    tables = network_tables(get_config("dmc_cheetah_run_fast_sac"))
    critic = [r for r in tables["networks"]["critic"]["layers"] if r.get("kind") != "norm"]
    assert [(r["out"], r.get("ensemble")) for r in critic] == [(768, 2), (384, 2), (192, 2), (101, 2)]


def test_the_actor_maximises_the_mean_of_the_critics_after_their_step():
    from largerl_jax.networks.hyper_heads import categorical_q
    from largerl_jax.networks.running_stats import update_stats

    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    # an actor update, at a temperature whose one step moves the loss beyond the tolerance
    state = state.replace(agent=state.agent.replace(step=jnp.int32(1), log_alpha=jnp.log(jnp.float32(0.3))))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    key = jax.random.PRNGKey(2)
    new, metrics = agent.update(state, batch, key)
    stats = update_stats(state.obs_stats, batch.obs)
    z = (batch.obs - stats.mean) / (jnp.sqrt(stats.var) + 0.01)
    _, k_pi = jax.random.split(key)
    (mean, log_std), _ = state.agent.actor.apply(z, train=False)
    a, logp = tanh_gaussian_sample(mean, log_std, k_pi)
    q = categorical_q(new.agent.critic.apply(jnp.concatenate([z, a], -1), train=False)[0], jnp.linspace(-5.0, 5.0, 11))
    expected = (jnp.exp(new.agent.log_alpha) * logp - q.mean(axis=0)).mean()
    np.testing.assert_allclose(metrics["actor_loss"], expected, rtol=1e-5)
    assert not np.allclose(q[0], q[1], atol=1e-4)  # min and mean differ: the test can tell
