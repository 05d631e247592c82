import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.agents.td import bootstrap_target, td_loss
from fake_transitions import gaussian

OBS, ACT, B = 5, 2, 32


def _tiny(name, **over):
    cfg = agent_config(name)
    for net in ("actor", "critic", "value"):
        if net in cfg:
            cfg[net].widths, cfg[net].width = None, 16
    cfg.batch_size = B
    for k, v in over.items():
        cfg[k] = v
    return cfg


def _batch(key, terminated=0.0, truncated=0.0):
    return gaussian(key, B, OBS, ACT, terminated, truncated)


def _leaves_close(a, b):
    return all(np.allclose(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_bootstrap_target_cuts_only_at_termination():
    r, v = jnp.array([1.0, 1.0]), jnp.array([10.0, 10.0])
    out = bootstrap_target(r, jnp.array([0.0, 1.0]), v, gamma=0.9, reward_scale=2.0)
    np.testing.assert_allclose(out, [2.0 + 9.0, 2.0])


def test_td_loss_kinds():
    pred, target = jnp.array([[0.0, 3.0]]), jnp.array([0.5, 0.0])
    np.testing.assert_allclose(td_loss(pred, target, "mse"), (0.125 + 4.5) / 2)
    np.testing.assert_allclose(td_loss(pred, target, "huber", 1.0), (0.125 + 2.5) / 2)
    with pytest.raises(ValueError):
        td_loss(pred, target, "l1")


@pytest.mark.parametrize("name", ["sac", "sac_v1", "td3"])
def test_update_uses_termination_but_not_truncation(name):
    agent = make_agent(_tiny(name), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    key = jax.random.PRNGKey(1)
    base, _ = update(state, _batch(jax.random.PRNGKey(2)), key)
    truncated, _ = update(state, _batch(jax.random.PRNGKey(2), truncated=1.0), key)
    terminated, _ = update(state, _batch(jax.random.PRNGKey(2), terminated=1.0), key)
    assert _leaves_close(base.critic.params, truncated.critic.params)
    assert not _leaves_close(base.critic.params, terminated.critic.params)


@pytest.mark.parametrize("name", ["sac", "sac_v1", "td3"])
def test_act_and_update_shapes_and_progress(name):
    agent = make_agent(_tiny(name), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(3), (7, OBS))
    for det in (True, False):
        a = jax.jit(agent.act, static_argnums=3)(state, obs, jax.random.PRNGKey(4), det)
        assert a.shape == (7, ACT)
        assert np.all(np.abs(np.asarray(a)) <= 1.0)
    new, metrics = jax.jit(agent.update)(state, _batch(jax.random.PRNGKey(5)), jax.random.PRNGKey(6))
    assert int(new.step) == 1
    assert not _leaves_close(state.critic.params, new.critic.params)
    assert not _leaves_close(state.actor.params, new.actor.params)
    assert np.isfinite(float(metrics["critic_loss"]))


def test_sac_stochastic_act_differs_from_mode():
    agent = make_agent(_tiny("sac"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    obs = jnp.zeros((64, OBS))
    det = agent.act(state, obs, jax.random.PRNGKey(1), True)
    sto = agent.act(state, obs, jax.random.PRNGKey(1), False)
    assert np.allclose(det, det[0])  # same obs, same mode
    assert np.asarray(sto).std(axis=0).min() > 0.1


def test_sac_temperature_moves_towards_target_entropy():
    # The initial policy's entropy is far above -|A|, so alpha must shrink.
    agent = make_agent(_tiny("sac"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    for i in range(5):
        state, metrics = update(state, _batch(jax.random.PRNGKey(i)), jax.random.PRNGKey(100 + i))
    assert float(jnp.exp(state.log_alpha)) < 1.0
    fixed = make_agent(_tiny("sac", learn_temperature=False), OBS, ACT)
    s2 = fixed.init(jax.random.PRNGKey(0))
    s2, _ = jax.jit(fixed.update)(s2, _batch(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))
    assert float(s2.log_alpha) == 0.0


def test_td3_delays_actor_and_targets():
    agent = make_agent(_tiny("td3"), OBS, ACT)
    s0 = agent.init(jax.random.PRNGKey(0))
    update = jax.jit(agent.update)
    s1, m1 = update(s0, _batch(jax.random.PRNGKey(1)), jax.random.PRNGKey(2))  # step 0: actor update
    s2, m2 = update(s1, _batch(jax.random.PRNGKey(3)), jax.random.PRNGKey(4))  # step 1: critic only
    assert not _leaves_close(s0.actor.params, s1.actor.params)
    assert _leaves_close(s1.actor.params, s2.actor.params)
    assert _leaves_close(s1.target_critic.params, s2.target_critic.params)
    assert not _leaves_close(s1.critic.params, s2.critic.params)
    assert np.isfinite(float(m1["actor_loss"])) and np.isnan(float(m2["actor_loss"]))


def test_spectral_norm_state_is_carried_through_updates():
    cfg = _tiny("sac")
    cfg.critic.arch = "modern"
    cfg.critic.depth = 2
    cfg.critic.spectral_norm = "intermediate"
    agent = make_agent(cfg, OBS, ACT)
    s0 = agent.init(jax.random.PRNGKey(0))
    assert "spectral" in s0.critic.state
    s1, _ = jax.jit(agent.update)(s0, _batch(jax.random.PRNGKey(1)), jax.random.PRNGKey(2))
    assert not _leaves_close(s0.critic.state["spectral"], s1.critic.state["spectral"])
    # acting never touches carried state
    assert "spectral" not in s0.actor.state


def test_agent_networks_are_independently_configured():
    cfg = _tiny("sac")
    cfg.actor.arch, cfg.actor.width, cfg.actor.depth = "densenet", 8, 3
    cfg.critic.arch, cfg.critic.activation = "d2rl", "swish"
    agent = make_agent(cfg, OBS, ACT)
    state = jax.eval_shape(agent.init, jax.random.PRNGKey(0))
    nets = agent.networks(state)
    assert set(nets) == {"actor", "critic"}
    actor_kernels = [x.shape for x in jax.tree.leaves(nets["actor"][1]["params"]) if len(x.shape) == 2]
    assert (OBS + 2 * 8, 8) in actor_kernels  # third dense layer sees input + two layers


def test_unknown_agent_and_loss():
    with pytest.raises(ValueError, match="available"):
        agent_config("ppo")
    cfg = _tiny("sac", critic_loss="l1")
    agent = make_agent(cfg, OBS, ACT)
    with pytest.raises(ValueError, match="huber"):
        agent.update(agent.init(jax.random.PRNGKey(0)), _batch(jax.random.PRNGKey(1)), jax.random.PRNGKey(2))


@pytest.mark.parametrize("name", ["sac", "sac_v1", "td3"])
def test_unit_importance_weights_change_nothing_and_priorities_are_reported(name):
    agent = make_agent(_tiny(name), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = _batch(jax.random.PRNGKey(1))
    update = jax.jit(agent.update)
    plain, m = update(state, batch, jax.random.PRNGKey(2))
    weighted, _ = jax.jit(lambda s, b, k: agent.update(s, b, k, weights=jnp.ones(B)))(state, batch, jax.random.PRNGKey(2))
    assert _leaves_close(plain.critic.params, weighted.critic.params)
    assert m["priority"].shape == (B,) and float(m["priority"].min()) >= 0.0
    # non-uniform weights (a uniform scale would cancel in Adam's normalized step)
    half = jnp.where(jnp.arange(B) % 2 == 0, 1.0, 0.0)
    masked, _ = jax.jit(lambda s, b, k: agent.update(s, b, k, weights=half))(state, batch, jax.random.PRNGKey(2))
    assert not _leaves_close(plain.critic.params, masked.critic.params)
