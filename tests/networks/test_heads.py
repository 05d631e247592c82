import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.networks import DeterministicPolicy, GaussianPolicy, QNetwork, VNetwork, param_table, torso_config

B, OBS, ACT = 5, 6, 3


def _obs():
    return jax.random.normal(jax.random.key(1), (B, OBS))


def _act():
    return jnp.tanh(jax.random.normal(jax.random.key(2), (B, ACT)))


def _jitted(module):
    # Eager nn.vmap runs op by op under batching; compiling once is cheaper for the critics.
    return jax.jit(module.init), jax.jit(module.apply, static_argnames=("train", "mutable"))


@pytest.mark.parametrize("arch", ["mlp", "densenet", "modern"])
def test_q_network_twin_members_differ(arch):
    cfg = torso_config(arch=arch, width=8, depth=2, spectral_norm="intermediate")
    init, apply = _jitted(QNetwork(cfg, num_q=2))
    variables = init(jax.random.key(0), _obs(), _act())
    q = apply(variables, _obs(), _act())
    assert q.shape == (2, B)
    first_kernel = jax.tree.leaves(variables["params"]["ensemble"]["torso"])[0]
    assert first_kernel.shape[0] == 2
    for leaf in jax.tree.leaves(variables["params"]["ensemble"]["torso"]):
        if leaf.ndim == 3:
            assert not np.allclose(leaf[0], leaf[1])
    for u in jax.tree.leaves(variables["spectral"]):
        assert u.shape[0] == 2 and not np.allclose(u[0], u[1])
    assert not np.allclose(q[0], q[1])
    assert all(r["ensemble"] == 2 for r in param_table(variables))


def test_q_network_train_mode_and_per_member_masks():
    cfg = torso_config(arch="mlp", width=8, depth=2, batch_norm=True, spectral_norm="all")
    init, apply = _jitted(QNetwork(cfg, num_q=3))
    variables = init(jax.random.key(0), _obs(), _act())
    q, updates = apply(variables, _obs(), _act(), train=True, mutable=("spectral", "batch_stats"))
    assert q.shape == (3, B) and set(updates) == {"spectral", "batch_stats"}
    # Member 0 loses every unit of the last hidden layer, the others keep theirs.
    last = jnp.ones((3, 8)).at[0].set(0.0)
    q = apply({**variables, **updates}, _obs(), _act(), masks=[None, last])
    np.testing.assert_allclose(q[0], q[0, 0])  # only the output bias remains
    assert np.std(q[1]) > 0 and np.std(q[2]) > 0


def test_gaussian_policy_shapes_and_log_std_clip():
    policy = GaussianPolicy(torso_config(width=8, depth=2), act_dim=ACT, log_std_min=-5.0, log_std_max=1.0)
    variables = policy.init(jax.random.key(0), _obs())
    mean, log_std = policy.apply(variables, _obs())
    assert mean.shape == log_std.shape == (B, ACT)
    params = jax.tree.map(lambda p: p, variables["params"])
    params["out"]["bias"] = params["out"]["bias"].at[ACT:].set(100.0)
    _, log_std = policy.apply({"params": params}, _obs())
    np.testing.assert_array_equal(log_std, 1.0)
    params["out"]["bias"] = params["out"]["bias"].at[ACT:].set(-100.0)
    _, log_std = policy.apply({"params": params}, _obs())
    np.testing.assert_array_equal(log_std, -5.0)
    assert variables["params"]["out"]["kernel"].shape == (8, 2 * ACT)


def test_deterministic_policy_is_bounded():
    policy = DeterministicPolicy(torso_config(arch="d2rl", width=8, depth=2), act_dim=ACT)
    variables = policy.init(jax.random.key(0), _obs())
    action = policy.apply(variables, 100.0 * _obs())
    assert action.shape == (B, ACT) and np.all(np.abs(action) <= 1.0)


def test_v_network_shape():
    value = VNetwork(torso_config(arch="resnet", width=8, depth=3))
    variables = value.init(jax.random.key(0), _obs())
    assert value.apply(variables, _obs()).shape == (B,)


def test_heads_are_jittable_with_masks():
    cfg = torso_config(arch="densenet", width=4, depth=2)
    policy = GaussianPolicy(cfg, ACT)
    variables = policy.init(jax.random.key(0), _obs())
    masks = [jnp.ones(4), jnp.zeros(4)]
    mean, _ = jax.jit(lambda v, o, m: policy.apply(v, o, masks=m))(variables, _obs(), masks)
    assert mean.shape == (B, ACT)


def test_heads_hold_a_frozen_hashable_config():
    cfg = torso_config(width=8)
    critic = QNetwork(cfg)
    assert hash(critic) == hash(QNetwork(torso_config(width=8)))
    cfg.width = 16  # editing the caller's config does not change a built network
    assert critic.torso.width == 8
