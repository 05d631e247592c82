"""Shrinking a pruned XiNet SAC + OFEXiNet agent: the compacted state, rebuilt with the new
widths, acts and learns exactly like the masked original while its arrays shrink."""
import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import make_agent
from largerl_jax.agents import shrink_agent_state

from test_xinet_sac import ACT, OBS, _batch, _cfg

S = 2


def _kill(gates, rng, p_dead=0.4):
    """Random dead units per seed (and per Q member); pi of the survivors rounded to 1, so that
    gate samples are deterministic and training steps can be compared exactly."""
    alive = tuple(jnp.asarray(np.asarray(a) & (rng.random(a.shape) > p_dead)) for a in gates.alive)
    return gates.replace(alive=alive, pi=tuple(a.astype(p.dtype) for p, a in zip(gates.pi, alive)))


def _rebuilt(cfg, widths):
    cfg = copy.deepcopy(cfg)
    for key, value in widths.items():
        net, field = key.split(".")
        cfg[net][field] = value
    return make_agent(cfg, OBS, ACT)


@pytest.mark.parametrize("features", ["ofenet", "raw"])
def test_shrunk_agent_acts_and_learns_like_the_masked_one(features):
    cfg = _cfg(features=features)
    agent = make_agent(cfg, OBS, ACT)
    vmapped = lambda f: jax.jit(jax.vmap(f, in_axes=(0, None, 0)))  # noqa: E731
    upd = vmapped(agent.update)
    states = jax.vmap(agent.init)(jax.random.split(jax.random.PRNGKey(0), S))
    for i in range(3):  # non-trivial batch-norm statistics and Adam moments
        batch, keys = _batch(jax.random.PRNGKey(i)), jax.random.split(jax.random.PRNGKey(10 + i), S)
        if agent.aux_update is not None:
            states, _ = vmapped(agent.aux_update)(states, batch, keys)
        states, _ = upd(states, batch, keys)
    rng = np.random.default_rng(0)
    inner = states.agent if features == "ofenet" else states
    inner = inner.replace(gates={k: _kill(g, rng) for k, g in inner.gates.items()})
    states = states.replace(agent=inner, ofe=states.ofe.replace(gates=_kill(states.ofe.gates, rng))) \
        if features == "ofenet" else inner

    small, widths = shrink_agent_state(cfg, states, OBS, ACT)
    agent2 = _rebuilt(cfg, widths)
    abstract = jax.eval_shape(jax.vmap(agent2.init), jax.random.split(jax.random.PRNGKey(0), S))
    assert [x.shape for x in jax.tree.leaves(small)] == [x.shape for x in jax.tree.leaves(abstract)]
    small = jax.tree.unflatten(jax.tree.structure(abstract), jax.tree.leaves(small))
    size = lambda t: sum(x.size for x in jax.tree.leaves(t))  # noqa: E731
    assert size(small) < 0.8 * size(states)
    assert all(w < 16 for w in widths["actor.widths"])

    obs = _batch(jax.random.PRNGKey(99)).obs
    act = lambda a, s: jax.vmap(lambda x: a.act(x, obs, jax.random.PRNGKey(0), True))(s)  # noqa: E731
    np.testing.assert_allclose(act(agent, states), act(agent2, small), atol=1e-5)

    batch, keys = _batch(jax.random.PRNGKey(5)), jax.random.split(jax.random.PRNGKey(7), S)
    _, m1 = upd(states, batch, keys)
    _, m2 = vmapped(agent2.update)(small, batch, keys)
    for name in ("critic_loss", "value_loss", "actor_loss"):
        np.testing.assert_allclose(m1[name], m2[name], rtol=1e-4, atol=1e-5)
    if features == "ofenet":
        _, o1 = vmapped(agent.aux_update)(states, batch, keys)
        _, o2 = vmapped(agent2.aux_update)(small, batch, keys)
        np.testing.assert_allclose(o1["ofe_loss"], o2["ofe_loss"], rtol=1e-4)


def test_only_pruned_sac_v1_shrinks():
    cfg = _cfg(features="raw")
    cfg.pruning.enabled = False
    agent = make_agent(cfg, OBS, ACT)
    with pytest.raises(ValueError, match="is not pruned"):
        shrink_agent_state(cfg, agent.init(jax.random.PRNGKey(0)), OBS, ACT)
