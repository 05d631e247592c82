"""FastTD3 (agents.fast_td3): the authors' defaults, the C51 target of the lower-mean critic, the
per-env exploration noise redrawn exactly at episode ends, the update schedule, and the
observation normaliser that also takes in sampled batches."""
from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import get_config
from experiments.inspect import network_tables
from fake_transitions import gaussian
from largerl_jax.agents import agent_config, make_agent
from largerl_jax.agents.distributional import categorical_targets
from largerl_jax.export import load_policy
from largerl_jax.export.writer import policy_contents
from largerl_jax.replay import Transition

OBS, ACT, B, N = 3, 2, 16, 4


def _tiny(**over):
    cfg = agent_config("fast_td3")
    cfg.actor.widths, cfg.critic.widths = (8, 8, 4), (16, 8, 8)
    cfg.batch_size, cfg.bins, cfg.v_min, cfg.v_max = B, 11, -5.0, 5.0
    cfg.env_noise.num_envs = N
    for k, v in over.items():
        cfg[k] = v
    return cfg


def _moved(a, b) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_defaults_are_the_authors():
    cfg = agent_config("fast_td3")
    assert cfg.critic.widths == (1024, 512, 256) and cfg.actor.widths == (512, 256, 128) and cfg.actor_out_std == 0.01
    assert (cfg.bins, cfg.v_min, cfg.v_max, cfg.batch_size, cfg.gamma, cfg.tau) == (101, -250.0, 250.0, 32_768, 0.99, 0.1)
    assert (cfg.actor_lr, cfg.critic_lr, cfg.weight_decay, cfg.policy_delay) == (3e-4, 3e-4, 0.1, 2)
    assert (cfg.policy_noise, cfg.noise_clip, cfg.env_noise.low, cfg.env_noise.high) == (0.001, 0.5, 0.001, 0.4)
    norm = cfg.obs_norm
    assert norm.enabled and norm.form == "std_plus" and norm.eps == 0.01 and norm.from_acting and norm.from_batches
    run = get_config("dmc_cheetah_run_fast_td3")  # HP:292-300 and CheetahRun's HP:376-385
    assert (run.env.num_envs, run.agent.batch_size, run.updates_per_iteration, run.agent.gamma) == (1024, 32_768, 2, 0.97)
    assert (run.nstep, run.agent.v_max, run.agent.env_noise.low, run.agent.policy_noise) == (3, 500.0, 0.1, 0.1)
    assert run.replay_capacity == 1024 * 10_240 and get_config("dmc_walker_walk_fast_td3").agent.v_max == 10.0
    cpu = get_config("ant_fast_td3_cpu")
    assert cpu.env.num_envs == 64 and cpu.agent.batch_size == 64 * 32 and cpu.updates_per_iteration == 2


def lower_mean_target(logits, reward, keep, atoms, use_cdq):
    returns = reward[:, None] + keep[:, None] * atoms[None]
    return categorical_targets(logits, returns, float(atoms[0]), float(atoms[-1]), use_cdq)


def test_target_is_the_projection_of_the_lower_mean_critic_for_both():
    atoms = jnp.linspace(-2.0, 2.0, 5)
    # member 0 puts its mass on atom 3 (mean 1), member 1 on atom 1 (mean -1) for sample 0; the
    # other way round for sample 1
    logits = jnp.full((2, 2, 5), -30.0).at[0, 0, 3].set(0.0).at[1, 0, 1].set(0.0).at[0, 1, 0].set(0.0).at[1, 1, 4].set(0.0)
    reward, keep = jnp.array([0.5, 0.0]), jnp.array([0.5, 1.0])
    out = np.asarray(lower_mean_target(logits, reward, keep, atoms, use_cdq=True))
    # sample 0: member 1 (lower), its atom -1 -> 0.5 + 0.5 * -1 = 0 lands exactly on atom 2
    # sample 1: member 0 (lower), its atom -2 -> 0 + 1 * -2 = -2, atom 0
    np.testing.assert_allclose(out[:, 0], [[0, 0, 1, 0, 0]] * 2, atol=1e-6)
    np.testing.assert_allclose(out[:, 1], [[1, 0, 0, 0, 0]] * 2, atol=1e-6)
    own = np.asarray(lower_mean_target(logits, reward, keep, atoms, use_cdq=False))
    # member 0, sample 0: 0.5 + 0.5 * 1 = 1.0, atom 3; without CDQ each member keeps its own
    np.testing.assert_allclose(own[0, 0], [0, 0, 0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(own[1, 0], [0, 0, 1, 0, 0], atol=1e-6)
    # a fractional return splits its mass: member 1, sample 1: 0 + 1 * 2 = 2 -> atom 4; with
    # keep 0.75 it is 1.5, half on atoms 3 and 4
    half = np.asarray(lower_mean_target(logits, reward, jnp.array([0.5, 0.75]), atoms, use_cdq=False))
    np.testing.assert_allclose(half[1, 1], [0, 0, 0, 0.5, 0.5], atol=1e-6)


def test_update_regresses_both_critics_on_the_lower_mean_target():
    cfg = _tiny()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = gaussian(jax.random.PRNGKey(1), B, OBS, ACT)
    inner = state.agent  # under the observation normaliser
    probe = agent.critic_probe(state, batch, jax.random.PRNGKey(2))
    # the probe's target is the expectation of the shared projected target, from the online actor
    # (no target actor) with smoothing noise, and the target critic
    atoms = jnp.linspace(-5.0, 5.0, 11)
    stats = state.obs_stats
    norm = lambda x: (x - stats.mean) / (jnp.sqrt(stats.var) + 0.01)  # noqa: E731
    next_a, _ = inner.actor.apply(norm(batch.next_obs), train=False)
    noise = jnp.clip(0.001 * jax.random.normal(jax.random.PRNGKey(2), next_a.shape), -0.5, 0.5)
    next_a = jnp.clip(next_a + noise, -1.0, 1.0)
    logits, _ = inner.critic.apply_target(inner.target_critic, jnp.concatenate([norm(batch.next_obs), next_a], -1))
    keep = cfg.gamma * (1.0 - batch.terminated)
    expected = lower_mean_target(logits, batch.reward, keep, atoms, True)
    np.testing.assert_allclose(probe.target, (expected[0] * atoms).sum(-1), rtol=1e-5, atol=1e-5)


def test_actor_steps_on_the_second_update_of_each_pair_and_the_target_follows_every_update():
    cfg = _tiny()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    actor_moved = []
    for i in range(4):
        new, metrics = update(state, gaussian(jax.random.PRNGKey(10 + i), B, OBS, ACT), jax.random.PRNGKey(i))
        actor_moved.append(_moved(state.agent.actor.params, new.agent.actor.params))
        # Polyak with tau 0.1 after every critic update
        for t_old, p_new, t_new in zip(jax.tree.leaves(state.agent.target_critic.params),
                                       jax.tree.leaves(new.agent.critic.params),
                                       jax.tree.leaves(new.agent.target_critic.params)):
            np.testing.assert_allclose(t_new, 0.9 * t_old + 0.1 * p_new, rtol=1e-5, atol=1e-6)
        assert np.isfinite(float(metrics["critic_loss"])) and np.isnan(float(metrics["actor_loss"])) == (i % 2 == 0)
        state = new
    assert actor_moved == [False, True, False, True]
    assert not hasattr(state.agent, "target_actor")


def test_each_env_keeps_its_noise_scale_until_its_episode_ends():
    cfg = _tiny()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    scales = np.asarray(state.agent.noise.scales)
    assert scales.shape == (N,) and np.all((scales >= 0.001) & (scales <= 0.4)) and len(set(scales.tolist())) == N
    obs = jax.random.normal(jax.random.PRNGKey(1), (N, OBS))
    # acting adds each env's own scale times a standard normal draw of the acting key, clipped
    mean = agent.act(state, obs, None, True)
    noisy = agent.act(state, obs, jax.random.PRNGKey(7), False)
    eps = jax.random.normal(jax.random.PRNGKey(7), mean.shape)
    np.testing.assert_allclose(noisy, jnp.clip(mean + eps * scales[:, None], -1, 1), rtol=1e-6, atol=1e-7)
    history = [scales]
    ends = [(0, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 0), (1, 0, 0, 1), (0, 0, 0, 0)]
    for t, done in enumerate(ends):
        term = jnp.array(done[:2] + (0, 0), jnp.float32)  # envs 0-1 end by termination, 2-3 by truncation
        trunc = jnp.array((0, 0) + done[2:], jnp.float32)
        trans = Transition(obs=obs, action=mean, reward=jnp.zeros(N), next_obs=obs, terminated=term, truncated=trunc)
        state = agent.observe(state, trans)
        history.append(np.asarray(state.agent.noise.scales))
    for t, done in enumerate(ends):
        before, after = history[t], history[t + 1]
        np.testing.assert_array_equal(after == before, np.array(done) == 0)
    with pytest.raises(ValueError, match="4 scales .* got 3 observations"):
        agent.act(state, obs[:3], jax.random.PRNGKey(7), False)


def test_the_normaliser_takes_in_acting_and_sampled_observations_as_numpy_does():
    cfg = _tiny()
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    acted = 2.0 + 3.0 * jax.random.normal(jax.random.PRNGKey(1), (N, OBS))
    trans = Transition(obs=acted, action=jnp.zeros((N, ACT)), reward=jnp.zeros(N), next_obs=acted,
                       terminated=jnp.zeros(N), truncated=jnp.zeros(N))
    state = agent.observe(state, trans)
    batch = gaussian(jax.random.PRNGKey(2), B, OBS, ACT)
    batch = batch.replace(obs=batch.obs * 5.0 - 1.0, next_obs=batch.next_obs + 4.0)
    new, _ = agent.update(state, batch, jax.random.PRNGKey(3))
    stream = np.concatenate([acted, batch.obs, batch.next_obs]).astype(np.float64)
    np.testing.assert_allclose(new.obs_stats.mean, stream.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(new.obs_stats.var, stream.var(0), rtol=1e-4, atol=1e-5)
    assert float(new.obs_stats.count) == len(stream)
    # acting normalises as (x - mean) / (std + 0.01)
    stats = new.obs_stats
    expected = new.agent.actor.apply((acted - stats.mean) / (jnp.sqrt(stats.var) + 0.01), train=False)[0]
    np.testing.assert_allclose(agent.act(new, acted, None, True), expected, rtol=1e-5, atol=1e-6)


def test_a_run_fills_the_noise_envs_and_inspect_shows_the_widths():
    tables = network_tables(get_config("dmc_cheetah_run_fast_td3"))
    critic = [row for row in tables["networks"]["critic"]["layers"]]
    assert [(row["out"], row.get("ensemble")) for row in critic] == [(1024, 2), (512, 2), (256, 2), (101, 2)]
    assert [row["out"] for row in tables["networks"]["actor"]["layers"]] == [512, 256, 128, 6]


def test_the_export_bakes_in_the_std_plus_normaliser():
    agent = make_agent(_tiny(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    acted = 2.0 + 3.0 * jax.random.normal(jax.random.PRNGKey(1), (N, OBS))
    state = agent.observe(state, Transition(obs=acted, action=jnp.zeros((N, ACT)), reward=jnp.zeros(N), next_obs=acted,
                                            terminated=jnp.zeros(N), truncated=jnp.zeros(N)))
    # an actor whose last layer is no longer near zero, so the normaliser shows in the actions
    params = dict(state.agent.actor.params)
    params["out"] = jax.tree.map(lambda x: x * 100.0, params["out"])
    state = state.replace(agent=state.agent.replace(actor=state.agent.actor.replace(params=params)))
    buf = io.BytesIO()
    np.savez(buf, **policy_contents(agent, state, (OBS,), "test"))
    buf.seek(0)
    obs = np.asarray(acted, np.float32)
    expected = np.asarray(agent.act(state, obs, None, True))
    assert 0.05 < np.median(np.abs(expected)) < 0.9  # unsaturated: tanh would hide differences
    np.testing.assert_allclose(load_policy(buf)(obs), expected, atol=1e-5, rtol=0)
