import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.networks import DeterministicPolicy, GaussianPolicy, QNetwork, VNetwork, param_table, torso_config
from largerl_jax.networks.heads import bound_log_std

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


def test_tanh_log_std_bound_is_drqs_formula_and_keeps_its_gradient():
    """DrQ (drq/drq.py, Actor.forward): log_std = min + 0.5 (max - min) (tanh(x) + 1)."""
    x = jnp.linspace(-30.0, 30.0, 61)
    lo, hi = -10.0, 2.0
    want = lo + 0.5 * (hi - lo) * (np.tanh(np.asarray(x)) + 1.0)
    np.testing.assert_allclose(bound_log_std(x, lo, hi, "tanh"), want, rtol=1e-6, atol=1e-6)
    assert float(bound_log_std(jnp.float32(0.0), lo, hi, "tanh")) == -4.0  # the middle at x = 0
    slope = jax.grad(lambda v: bound_log_std(v, lo, hi, "tanh"))
    assert float(slope(0.0)) == 6.0 and float(slope(5.0)) > 0  # (max - min) / 2, never flat
    np.testing.assert_array_equal(bound_log_std(x, lo, hi, "clip"), np.clip(np.asarray(x), lo, hi))
    assert float(jax.grad(lambda v: bound_log_std(v, lo, hi, "clip"))(5.0)) == 0.0
    with pytest.raises(ValueError, match="log_std_bound"):
        bound_log_std(x, lo, hi, "sigmoid")
    # the head applies it: every log-std inside (min, max) whatever the output layer gives
    policy = GaussianPolicy(torso_config(width=8, depth=2), act_dim=ACT, log_std_min=lo, log_std_max=hi,
                            log_std_bound="tanh")
    params = policy.init(jax.random.PRNGKey(0), _obs())["params"]
    params = jax.tree.map(lambda p: p * 100.0, params)
    _, log_std = policy.apply({"params": params}, _obs())
    assert float(log_std.min()) >= lo and float(log_std.max()) <= hi


def test_orthogonal_init_has_gain_one_and_zero_biases():
    """DrQ's weight_init: nn.init.orthogonal_ (gain 1) on every Linear, bias 0."""
    policy = GaussianPolicy(torso_config(width=16, depth=2, kernel_init="orthogonal"), act_dim=ACT)
    params = policy.init(jax.random.PRNGKey(1), _obs())["params"]
    kernels = [params["torso"]["hidden_1"]["kernel"], params["out"]["kernel"]]  # [16, 16], [16, 2 ACT]
    for k in kernels:
        k = np.asarray(k)
        small = k if k.shape[0] <= k.shape[1] else k.T  # rows orthonormal on the smaller side
        np.testing.assert_allclose(small @ small.T, np.eye(small.shape[0]), atol=1e-5)
    biases = [v for path, v in jax.tree_util.tree_leaves_with_path(params) if path[-1].key == "bias"]
    assert biases and all(np.all(np.asarray(b) == 0) for b in biases)


def test_layer_norm_epsilon_is_the_configs():
    """A 'modern' torso's LayerNorms use ln_epsilon (PyTorch's 1e-5 in the dmc configs): its
    output is the final LayerNorm's formula, (h - mean) / sqrt(var + eps), of the stream h."""
    from largerl_jax.networks.torso import Torso

    x = 1e-3 * jax.random.normal(jax.random.key(3), (2, 4))  # a stream of small variance
    for eps in (1e-6, 1e-5):
        cfg = dict(arch="modern", width=4, depth=1, ln_epsilon=eps)
        torso = Torso(torso_config(**cfg))
        variables = torso.init(jax.random.PRNGKey(0), x)
        out = np.asarray(torso.apply(variables, x), np.float64)
        stream = Torso(torso_config(**cfg, modern_final_norm=False))
        params = {k: v for k, v in variables["params"].items() if k != "final_norm"}
        h = np.asarray(stream.apply({"params": params}, x), np.float64)
        want = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + eps)
        np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-4)
