"""OFENet: paper sizes (shapes only), batch-norm modes, the auxiliary loss on real Ant
transitions, stop-gradient into the agent, the target network and predict_dims."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.features import (
    aux_loss,
    features,
    init_ofenet,
    ofenet_config,
    ofenet_dims,
    ofenet_update,
    predict_next,
    pretrain_ofenet,
    state_action_features,
    state_features,
)
from largerl_jax.networks import param_table, total_params
from largerl_jax.replay import Transition
from fake_transitions import flat_buffer, gaussian

OBS, ACT = 5, 3
SMALL = dict(num_layers=2, units=8)


def _batch(key, n=16, obs_dim=OBS, act_dim=ACT) -> Transition:
    return gaussian(key, n, obs_dim, act_dim)


def _allclose(a, b, **kw) -> bool:
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: np.allclose(x, y, **kw), a, b)))


def _differs(a, b) -> bool:
    return not _allclose(a, b, rtol=0.0, atol=0.0)


@pytest.fixture(scope="module")
def small_cfg():
    return ofenet_config(**SMALL)


@pytest.fixture(scope="module")
def small_state(small_cfg):
    return init_ofenet(small_cfg, jax.random.key(0), OBS, ACT)


@pytest.fixture(scope="module")
def update_fn(small_cfg):
    return jax.jit(functools.partial(ofenet_update, small_cfg))


# ----- sizes ---------------------------------------------------------------------------------


def test_paper_ant_z_s_branch_reproduces_table2():
    cfg = ofenet_config()  # the paper's 8 x 256 swish + BN
    state = jax.eval_shape(lambda k: init_ofenet(cfg, k, 111, 8), jax.random.key(0))
    phi_s = {"params": state.params["phi_s"], "batch_stats": state.batch_stats["phi_s"]}
    rows = param_table(phi_s, bn_convention="paper")
    assert [r["in"] for r in rows] == [111, 367, 623, 879, 1135, 1391, 1647, 1903]
    assert [r["out"] for r in rows] == [256] * 8
    assert [r["params"] for r in rows] == [29_696, 95_232, 160_768, 226_304, 291_840, 357_376, 422_912, 488_448]
    assert all(r["norm"] == "batch" for r in rows)
    assert total_params(phi_s, bn_convention="paper") == 2_072_576

    assert ofenet_dims(cfg, 111, 8) == (2159, 2159 + 8 + 8 * 256)
    assert state.params["phi_sa"]["hidden_0"]["kernel"].shape == (2159 + 8, 256)
    # Ant predicts a prefix in the paper setup; here the default full observation.
    assert state.params["predictor"]["kernel"].shape == (4215, 111)
    obs = jax.ShapeDtypeStruct((4, 111), jnp.float32)
    act = jax.ShapeDtypeStruct((4, 8), jnp.float32)
    z_s, z_sa = jax.eval_shape(features, state, obs, act)
    assert z_s.shape == (4, 2159) and z_sa.shape == (4, 4215)
    # The target copy has the same layout.
    assert jax.tree.map(lambda x: x.shape, state.target_params) == jax.tree.map(lambda x: x.shape, state.params)


def test_phi_sa_size_is_configurable_and_dims_match_outputs():
    cfg = ofenet_config(num_layers=3, units=4, sa_num_layers=2, sa_units=5)
    assert ofenet_dims(cfg, OBS, ACT) == (OBS + 12, OBS + 12 + ACT + 10)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    batch = _batch(jax.random.key(1))
    z_s, z_sa = jax.jit(features)(state, batch.obs, batch.action)
    assert (z_s.shape[-1], z_sa.shape[-1]) == ofenet_dims(cfg, OBS, ACT)
    # DenseNet features keep their inputs as a prefix.
    np.testing.assert_array_equal(z_s[:, :OBS], batch.obs)
    np.testing.assert_array_equal(z_sa[:, : z_s.shape[-1]], z_s)
    np.testing.assert_array_equal(z_sa[:, z_s.shape[-1] : z_s.shape[-1] + ACT], batch.action)


# ----- config --------------------------------------------------------------------------------


def test_config_defaults():
    cfg = ofenet_config()
    assert (cfg.num_layers, cfg.units, cfg.activation, cfg.batch_norm) == (8, 256, "swish", True)
    assert (cfg.learning_rate, cfg.tau, cfg.batch_size) == (3e-4, 0.005, 256)
    assert (cfg.predict_dims, cfg.pretrain_updates, cfg.use_target) == (None, 10_000, True)
    assert (cfg.sa_num_layers, cfg.sa_units) == (None, None)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(num_layers=0),
        dict(units=-1),
        dict(units=2.0),
        dict(sa_units=0),
        dict(sa_num_layers=True),
        dict(activation="tanh"),
        dict(batch_norm=1),
        dict(learning_rate=0.0),
        dict(tau=0.0),
        dict(tau=1.5),
        dict(predict_dims=0),
        dict(pretrain_updates=-1),
        dict(use_target="yes"),
        dict(batch_size=0),
        dict(width=4),
    ],
)
def test_config_rejects_bad_values(overrides):
    with pytest.raises(ValueError):
        ofenet_config(**overrides)


def test_config_edited_after_creation_is_revalidated():
    cfg = ofenet_config(**SMALL)
    cfg.units = 0
    with pytest.raises(ValueError, match="units"):
        init_ofenet(cfg, jax.random.key(0), OBS, ACT)


def test_predict_dims_longer_than_obs_is_rejected():
    with pytest.raises(ValueError, match="predict_dims"):
        init_ofenet(ofenet_config(predict_dims=OBS + 1, **SMALL), jax.random.key(0), OBS, ACT)


def test_update_refuses_a_config_of_another_structure(small_state):
    other = ofenet_config(num_layers=3, units=8)
    with pytest.raises(ValueError, match="num_layers"):
        ofenet_update(other, small_state, _batch(jax.random.key(1)))


# ----- batch norm ----------------------------------------------------------------------------


def test_train_mode_uses_batch_statistics_and_updates_running_stats(small_state):
    module, params, stats = small_state.module, small_state.params, small_state.batch_stats
    variables = {"params": params, "batch_stats": stats}
    batch = _batch(jax.random.key(1), n=32)
    (z_s, _, _), updates = module.apply(variables, batch.obs, batch.action, train=True, mutable=["batch_stats"])
    new_stats = updates["batch_stats"]
    assert _differs(new_stats, stats)
    # Running mean after one step: momentum 0.99 towards the batch mean of W x + b.
    dense = params["phi_s"]["hidden_0"]
    batch_mean = (batch.obs @ dense["kernel"] + dense["bias"]).mean(axis=0)
    np.testing.assert_allclose(new_stats["phi_s"]["hidden_0_norm"]["mean"], 0.01 * batch_mean, rtol=1e-5, atol=1e-6)

    # Batch statistics: a sample's train-mode features depend on the rest of the batch.
    shifted_obs = batch.obs.at[1:].add(3.0)
    (z_s_shifted, _, _), _ = module.apply(variables, shifted_obs, batch.action, train=True, mutable=["batch_stats"])
    assert not np.allclose(z_s[0], z_s_shifted[0])


def test_eval_mode_reads_running_stats_and_is_deterministic(small_state):
    module = small_state.module
    variables = {"params": small_state.params, "batch_stats": small_state.batch_stats}
    batch = _batch(jax.random.key(2), n=32)
    out, updates = module.apply(variables, batch.obs, batch.action, train=False, mutable=["batch_stats"])
    assert _allclose(updates["batch_stats"], small_state.batch_stats, rtol=0.0, atol=0.0)

    z_s, z_sa = features(small_state, batch.obs, batch.action)
    z_s2, z_sa2 = features(small_state, batch.obs, batch.action)
    np.testing.assert_array_equal(z_s, z_s2)
    np.testing.assert_array_equal(z_sa, z_sa2)
    # Per-sample: features of one sample do not depend on the rest of the batch.
    z_s_one, z_sa_one = features(small_state, batch.obs[:1], batch.action[:1])
    np.testing.assert_allclose(z_s_one, z_s[:1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z_sa_one, z_sa[:1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[0], z_s, rtol=1e-5, atol=1e-6)


def test_update_changes_running_stats_and_features(small_state, update_fn):
    batch = _batch(jax.random.key(3), n=32)
    new_state, metrics = update_fn(small_state, batch)
    assert int(new_state.step) == 1
    assert np.isfinite(metrics["ofe_loss"]) and np.isfinite(metrics["ofe_grad_norm"])
    assert _differs(new_state.batch_stats, small_state.batch_stats)
    assert _differs(new_state.params, small_state.params)
    assert not np.allclose(state_features(new_state, batch.obs), state_features(small_state, batch.obs))


def test_without_batch_norm():
    cfg = ofenet_config(batch_norm=False, **SMALL)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    assert state.net.state == {} and state.batch_stats == {}
    new_state, metrics = jax.jit(functools.partial(ofenet_update, cfg))(state, _batch(jax.random.key(1)))
    assert np.isfinite(metrics["ofe_loss"]) and new_state.target_state == {}


# ----- stop-gradient into the agent -----------------------------------------------------------


@pytest.mark.parametrize("target", [False, True])
def test_agent_gradients_never_reach_ofenet_but_reach_the_action(small_state, update_fn, target):
    # One update first, so online and target differ and the running stats are non-trivial.
    state, _ = update_fn(small_state, _batch(jax.random.key(4), n=32))
    batch = _batch(jax.random.key(5))

    def with_vars(params, stats):
        if target:
            return state.replace(target_params=params, target_state={"batch_stats": stats})
        return state.replace(net=state.net.replace(params=params, state={"batch_stats": stats}))

    def rl_like_loss(params, stats, action):
        s = with_vars(params, stats)
        z_s = state_features(s, batch.obs, target=target)
        z_sa = state_action_features(s, z_s, action, target=target)
        return jnp.sum(jnp.sin(z_sa)) + jnp.sum(z_s**2)

    params = state.target_params if target else state.params
    stats = state.target_batch_stats if target else state.batch_stats
    g_params, g_stats, g_action = jax.grad(rl_like_loss, argnums=(0, 1, 2))(params, stats, batch.action)
    assert all(np.all(np.asarray(g) == 0.0) for g in jax.tree.leaves((g_params, g_stats)))
    assert np.all(np.isfinite(g_action)) and np.abs(g_action).max() > 1e-6

    # Not vacuous: the same loss on the raw module does depend on the parameters.
    def raw_loss(p):
        z_s, z_sa, _ = state.module.apply({"params": p, "batch_stats": stats}, batch.obs, batch.action)
        return jnp.sum(jnp.sin(z_sa)) + jnp.sum(z_s**2)

    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(jax.grad(raw_loss)(params))) > 1e-6


# ----- target network ------------------------------------------------------------------------


def test_target_tracks_online_with_tau(small_cfg, small_state, update_fn):
    assert _allclose(small_state.target_params, small_state.params, rtol=0.0, atol=0.0)
    state = small_state
    for i in range(3):
        new_state, _ = update_fn(state, _batch(jax.random.key(10 + i), n=32))
        tau = small_cfg.tau
        want_params = jax.tree.map(lambda t, o: (1 - tau) * t + tau * o, state.target_params, new_state.params)
        want_stats = jax.tree.map(lambda t, o: (1 - tau) * t + tau * o, state.target_batch_stats, new_state.batch_stats)
        assert _allclose(new_state.target_params, want_params, rtol=1e-6, atol=1e-7)
        assert _allclose(new_state.target_batch_stats, want_stats, rtol=1e-6, atol=1e-7)
        state = new_state
    assert _differs(state.target_params, state.params)
    obs = _batch(jax.random.key(20)).obs
    assert not np.allclose(state_features(state, obs, target=True), state_features(state, obs))


def test_tau_one_copies_online():
    cfg = ofenet_config(tau=1.0, **SMALL)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    state, _ = jax.jit(functools.partial(ofenet_update, cfg))(state, _batch(jax.random.key(1)))
    assert _allclose(state.target_params, state.params, rtol=1e-6, atol=1e-7)
    assert _allclose(state.target_batch_stats, state.batch_stats, rtol=1e-6, atol=1e-7)


def test_without_target_the_online_network_stands_in():
    cfg = ofenet_config(use_target=False, **SMALL)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    state, _ = jax.jit(functools.partial(ofenet_update, cfg))(state, _batch(jax.random.key(1)))
    assert state.target_params is None and state.target_state is None
    batch = _batch(jax.random.key(2))
    for a, b in zip(features(state, batch.obs, batch.action, target=True), features(state, batch.obs, batch.action)):
        np.testing.assert_array_equal(a, b)


# ----- predict_dims --------------------------------------------------------------------------


def test_predict_dims_prefix():
    k = 2
    cfg = ofenet_config(predict_dims=k, **SMALL)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    batch = _batch(jax.random.key(1), n=32)
    assert predict_next(state, batch.obs, batch.action).shape == (32, k)
    loss, new_net_state = aux_loss(state.module, state.params, state.net.state, batch)
    (_, _, pred), _ = state.module.apply(
        {"params": state.params, **state.net.state}, batch.obs, batch.action, train=True, mutable=["batch_stats"]
    )
    assert pred.shape == (32, k)
    np.testing.assert_allclose(loss, jnp.mean((pred - batch.next_obs[:, :k]) ** 2), rtol=1e-6)
    # Entries past the prefix do not enter the loss.
    ignored = batch.replace(next_obs=batch.next_obs.at[:, k:].set(1e6))
    np.testing.assert_allclose(aux_loss(state.module, state.params, state.net.state, ignored)[0], loss, rtol=1e-6)
    assert _differs(new_net_state, state.net.state)


def test_pretrain_runs_cfg_pretrain_updates():
    cfg = ofenet_config(pretrain_updates=3, batch_size=8, **SMALL)
    state = init_ofenet(cfg, jax.random.key(0), OBS, ACT)
    buffer = flat_buffer(_batch(jax.random.key(1), n=40))
    state, metrics = jax.jit(functools.partial(pretrain_ofenet, cfg))(state, buffer, jax.random.key(2))
    assert int(state.step) == 3 and metrics["ofe_loss"].shape == (3,)
    assert np.all(np.isfinite(metrics["ofe_loss"]))


# ----- learning on real Ant transitions ------------------------------------------------------

ANT_ENVS, ANT_STEPS, ANT_VAL_ENVS, ANT_PREDICT = 32, 250, 8, 27


@pytest.fixture(scope="module")
def ant_transitions():
    """Random-action Gymnasium Ant-v4 (111-dim obs, contact forces included) transitions,
    [env, time, dim]. Validation holds out whole envs' trajectories, not random steps of the
    same trajectories, so neighbouring near-duplicates cannot leak into it."""
    from largerl_jax.envs import make_env

    env = make_env("Ant-v4", ANT_ENVS, seed=0)
    rng = np.random.default_rng(0)
    obs = env.reset(seed=0)
    rows = {"obs": [], "action": [], "next_obs": []}
    try:
        for _ in range(ANT_STEPS):
            action = rng.uniform(-1.0, 1.0, (ANT_ENVS, env.spec.act_dim)).astype(np.float32)
            next_obs_after_reset, info = env.step(action)
            rows["obs"].append(obs)
            rows["action"].append(action)
            rows["next_obs"].append(info["next_obs"])  # the true final obs at episode ends
            obs = next_obs_after_reset
    finally:
        env.close()
    return {k: np.stack(v, axis=1) for k, v in rows.items()}


def _flat_transitions(data, envs) -> Transition:
    pick = {k: v[envs].reshape(-1, v.shape[-1]) for k, v in data.items()}
    n = pick["obs"].shape[0]
    return Transition(reward=np.zeros(n, np.float32), terminated=np.zeros(n, np.float32),
                      truncated=np.zeros(n, np.float32), **pick)


@pytest.mark.slow
def test_aux_loss_learns_ant_dynamics(ant_transitions):
    train = _flat_transitions(ant_transitions, slice(0, ANT_ENVS - ANT_VAL_ENVS))
    val = _flat_transitions(ant_transitions, slice(ANT_ENVS - ANT_VAL_ENVS, ANT_ENVS))
    obs_dim, act_dim = train.obs.shape[-1], train.action.shape[-1]
    assert obs_dim == 111

    # Small OFENet and the paper's Ant prefix (27 dims). lr 1e-3 rather than the paper's 3e-4
    # only to get there in ~2.5K updates on a CPU.
    cfg = ofenet_config(num_layers=2, units=64, predict_dims=ANT_PREDICT, learning_rate=1e-3, batch_size=256)
    state = init_ofenet(cfg, jax.random.key(0), obs_dim, act_dim)
    buffer = flat_buffer(jax.tree.map(jnp.asarray, train))
    pretrain = jax.jit(functools.partial(pretrain_ofenet, cfg, num_updates=2500))
    state, metrics = pretrain(state, buffer, jax.random.key(1))

    target = val.next_obs[:, :ANT_PREDICT]
    baseline = float(np.mean((target - train.next_obs[:, :ANT_PREDICT].mean(axis=0)) ** 2))
    val_mse = float(jnp.mean((predict_next(state, val.obs, val.action) - target) ** 2))
    target_val_mse = float(jnp.mean((predict_next(state, val.obs, val.action, target=True) - target) ** 2))
    train_loss = float(metrics["ofe_loss"][-100:].mean())
    print(f"\nAnt aux loss: mean-prediction baseline {baseline:.3f}, held-out MSE {val_mse:.3f} "
          f"({val_mse / baseline:.3f}x), target net {target_val_mse:.3f} ({target_val_mse / baseline:.3f}x), "
          f"train loss (last 100) {train_loss:.3f}, first update {float(metrics['ofe_loss'][0]):.3f}")
    assert val_mse < 0.2 * baseline
    assert target_val_mse < 0.3 * baseline
