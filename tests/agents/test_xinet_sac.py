"""XiNet SAC and OFEXiNet (pruning paper; spec Secs. 3, 5): gates in every hidden layer, the
mode table, the gates' window, rounding and the regulariser's pull."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents import make_agent, sac_v1_config
from largerl_jax.networks import torso_config, trainable
from largerl_jax.pruning import gates as gating
from largerl_jax.replay.buffer import Transition

OBS, ACT, B = 5, 2, 32


def _cfg(features="ofenet", warmup=2, round_update=8, lam=1e-2):
    cfg = sac_v1_config()
    cfg.features = features
    cfg.ofenet.num_layers = 2
    cfg.ofenet.units = 8
    cfg.ofenet.passthrough = "diagonal"
    cfg.ofenet.pretrain_updates = 3
    cfg.ofenet.use_target = False
    for name in ("actor", "critic", "value"):
        cfg[name] = torso_config(arch="mlp", width=16, depth=2)
    cfg.pruning.enabled = True
    cfg.pruning.warmup_updates = warmup
    cfg.pruning.round_update = round_update
    cfg.pruning.rl_lambda = lam
    cfg.pruning.ofe_lambda = lam
    return cfg


def _batch(key):
    k = jax.random.split(key, 4)
    return Transition(
        obs=jax.random.normal(k[0], (B, OBS)),
        action=jax.random.uniform(k[1], (B, ACT), minval=-1, maxval=1),
        reward=jax.random.normal(k[2], (B,)),
        next_obs=jax.random.normal(k[3], (B, OBS)),
        terminated=jnp.zeros(B),
        truncated=jnp.zeros(B),
    )


def _train(agent, state, steps, pretrain=0):
    aux, upd = jax.jit(agent.aux_update), jax.jit(agent.update)
    history = []
    for i in range(pretrain):
        state, _ = aux(state, _batch(jax.random.PRNGKey(1000 + i)), jax.random.PRNGKey(2000 + i))
    for i in range(steps):
        batch = _batch(jax.random.PRNGKey(i))
        if agent.aux_update is not None:
            state, _ = aux(state, batch, jax.random.PRNGKey(3000 + i))
        state, metrics = upd(state, batch, jax.random.PRNGKey(4000 + i))
        history.append((state, metrics))
    return state, history


def _all_pi(state):
    agent_state = state.agent if hasattr(state, "agent") else state
    pis = [p for g in agent_state.gates.values() for p in g.pi]
    if hasattr(state, "ofe"):
        pis += list(state.ofe.gates.pi)
    return pis


def test_every_network_is_gated_with_its_own_layout():
    agent = make_agent(_cfg(), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    assert [p.shape for p in state.agent.gates["actor"].pi] == [(16,), (16,)]
    assert [p.shape for p in state.agent.gates["critic"].pi] == [(2, 16), (2, 16)]  # one set per Q
    assert [p.shape for p in state.ofe.gates.pi] == [(8,), (8,), (8,), (8,)]  # phi_s then phi_sa
    assert "predictor" in state.ofe.net.params
    assert "hidden_1_pass" in state.ofe.net.params["phi_s"]


def test_gates_move_only_inside_their_window_and_round_once():
    agent = make_agent(_cfg(warmup=3, round_update=7, lam=5e-2), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    state, history = _train(agent, state, 10, pretrain=3)
    pis = [_all_pi(s) for s, _ in history]
    moved = [any(not jnp.array_equal(a, b) for a, b in zip(prev, cur)) for prev, cur in zip(pis, pis[1:])]
    # Update k (0-based) runs with step k: warm-up steps 0-2 keep pi, 3-6 move it, 7 rounds, later frozen.
    assert pis[0] == pis[0] and not any(moved[:2])
    assert all(moved[2:6])
    for p in pis[7]:
        assert set(np.unique(np.asarray(p))) <= {0.0, 1.0}
    assert not any(moved[7:])


def test_regulariser_pulls_pi_down_and_dead_units_stay_dead():
    cfg = _cfg(warmup=0, round_update=10_000, lam=1.0)
    cfg.pruning.pi_lr = 0.05
    agent = make_agent(cfg, OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    state, history = _train(agent, state, 40)
    _, metrics = history[0]
    assert float(metrics["gate_reg"]) > 0
    # a strong pull prunes units, and pruned ones never come back
    alive_first = [np.asarray(g.alive[0]) for g in history[10][0].agent.gates.values()]
    alive_last = [np.asarray(g.alive[0]) for g in state.agent.gates.values()]
    assert sum(a.sum() for a in alive_last) < sum(a.size for a in alive_last)
    for before, after in zip(alive_first, alive_last):
        assert not (after & ~before).any()
    for g in state.agent.gates.values():
        for p, a in zip(g.pi, g.alive):
            assert jnp.all(p[~a] == 0.0) and jnp.all((p >= 0) & (p <= 1))


def test_acting_is_evaluation_mode():
    agent = make_agent(_cfg(features="raw"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    half = jax.tree.map(lambda p: p * 0.5, state.gates["actor"].pi)
    state = state.replace(gates={**state.gates, "actor": state.gates["actor"].replace(pi=half)})
    obs = _batch(jax.random.PRNGKey(1)).obs
    a1 = agent.act(state, obs, jax.random.PRNGKey(1), True)
    a2 = agent.act(state, obs, jax.random.PRNGKey(2), True)
    assert jnp.array_equal(a1, a2)  # no gate sampling when acting
    nets = agent.networks(state)
    module, variables = nets["actor"]
    mean, _ = module.apply(variables, obs, masks=[jnp.full(16, 0.5), jnp.full(16, 0.5)])
    np.testing.assert_allclose(a1, jnp.tanh(mean), atol=1e-6)


def test_rl_losses_do_not_touch_ofexinet_gates():
    agent = make_agent(_cfg(warmup=0), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    new, _ = jax.jit(agent.update)(state, _batch(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))
    assert all(jnp.array_equal(a, b) for a, b in zip(new.ofe.gates.pi, state.ofe.gates.pi))
    assert jax.tree.all(jax.tree.map(jnp.array_equal, new.ofe.net.params, state.ofe.net.params))


def test_gates_sampled_per_network_per_update():
    """The Q update samples the critics' gates; the policy and V updates their own. With
    pi = 0.5 everywhere, two keys give different losses (sampling happens) and one key
    reproduces them exactly."""
    agent = make_agent(_cfg(features="raw"), OBS, ACT)
    state = agent.init(jax.random.PRNGKey(0))
    state = state.replace(gates={k: g.replace(pi=tuple(p * 0.5 for p in g.pi)) for k, g in state.gates.items()})
    batch = _batch(jax.random.PRNGKey(0))
    upd = jax.jit(agent.update)
    _, m1 = upd(state, batch, jax.random.PRNGKey(1))
    _, m2 = upd(state, batch, jax.random.PRNGKey(1))
    _, m3 = upd(state, batch, jax.random.PRNGKey(2))
    for name in ("critic_loss", "value_loss"):
        assert float(m1[name]) == float(m2[name])
        assert float(m1[name]) != float(m3[name])


def test_pruning_needs_mlp_networks():
    cfg = _cfg(features="raw")
    cfg.critic = torso_config(arch="densenet", width=16, depth=2)
    with pytest.raises(ValueError, match="plain MLPs"):
        make_agent(cfg, OBS, ACT)


def test_weight_decay_only_on_kernels():
    params = {"hidden_0": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}, "hidden_0_pass": {"scale": jnp.ones(2)}}
    assert float(trainable.kernel_decay(params)) == 3.0
    assert gating  # the module under test in tests/pruning/test_gates.py
