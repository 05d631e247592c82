import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import agent_config, make_agent
from largerl_jax.features import ofenet_update
from fake_transitions import gaussian

OBS, ACT, B = 6, 2, 32


def _cfg(name):
    cfg = agent_config(name)
    cfg.features = "ofenet"
    cfg.ofenet.num_layers, cfg.ofenet.units = 2, 8
    for net in ("actor", "critic", "value"):
        if net in cfg:
            cfg[net].widths, cfg[net].width = None, 16
    cfg.batch_size = cfg.ofenet.batch_size = B
    return cfg


def _batch(key):
    return gaussian(key, B, OBS, ACT)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("name", ["sac", "sac_v1", "td3"])
def test_rl_losses_never_reach_ofenet(name):
    cfg = _cfg(name)
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = _batch(jax.random.PRNGKey(1))
    # one trainer step: OFENet's auxiliary update, then the agent's update through it
    stepped, aux_metrics = jax.jit(agent.aux_update)(state, batch, jax.random.PRNGKey(3))
    new, metrics = jax.jit(agent.update)(stepped, batch, jax.random.PRNGKey(2))
    metrics = {**metrics, **aux_metrics}
    # OFENet after the agent update is exactly one auxiliary-loss step: RL gradients added nothing
    alone, _ = jax.jit(lambda s, b: ofenet_update(cfg.ofenet, s, b))(state.ofe, batch)
    assert _same(new.ofe.net.params, alone.net.params)
    assert _same(new.ofe.target_params, alone.target_params)
    assert not _same(new.ofe.net.params, state.ofe.net.params)
    assert not _same(new.agent.critic.params, state.agent.critic.params)
    assert np.isfinite(float(metrics["ofe_loss"])) and np.isfinite(float(metrics["critic_loss"]))


def test_critic_loss_gradient_wrt_ofenet_is_zero_but_flows_to_actions():
    from largerl_jax.agents.ofe import OFEView

    agent = make_agent(_cfg("sac"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    batch = _batch(jax.random.PRNGKey(1))

    def loss(ofe_params, action):
        ofe = state.ofe.replace(net=state.ofe.net.replace(params=ofe_params))
        view = OFEView(ofe, ACT)
        return jnp.sum(view.state_action(view.state(batch.obs), action) ** 2)

    g_params, g_action = jax.grad(loss, argnums=(0, 1))(state.ofe.net.params, batch.action)
    assert all(float(jnp.abs(g).max()) == 0.0 for g in jax.tree.leaves(g_params))
    assert float(jnp.abs(g_action).max()) > 0.0


def test_pretrain_moves_only_ofenet_and_acting_is_pure():
    agent = make_agent(_cfg("sac"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    new, metrics = jax.jit(agent.pretrain)(state, _batch(jax.random.PRNGKey(1)), jax.random.PRNGKey(2))
    assert _same(new.agent, state.agent)
    assert not _same(new.ofe.net.params, state.ofe.net.params)
    obs = jax.random.normal(jax.random.PRNGKey(3), (4, OBS))
    act = jax.jit(agent.act, static_argnums=3)
    a1 = act(new, obs, jax.random.PRNGKey(4), True)
    a2 = act(new, obs, jax.random.PRNGKey(5), True)
    np.testing.assert_array_equal(a1, a2)  # eval-mode batch norm: no dependence on the batch or key
    assert "ofenet" in agent.networks(new)


def test_batch_size_mismatch_is_an_error():
    cfg = _cfg("sac")
    cfg.ofenet.batch_size = 64
    with pytest.raises(ValueError, match="batch_size"):
        make_agent(cfg, OBS, ACT)
