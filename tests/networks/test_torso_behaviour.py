import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from largerl_jax.networks import GaussianPolicy, Torso, layer_widths, param_table, torso_config

ARCHS = ["mlp", "resnet", "densenet", "d2rl", "modern"]
IN = 5


def _x(batch=6, key=1):
    return jax.random.normal(jax.random.key(key), (batch, IN))


def _dense_paths(params):
    flat = traverse_util.flatten_dict(params)
    return {"/".join(p[:-1]) for p in flat if p[-1] == "kernel"}


def _init_shapes(module, x):
    # Variable structure only: tracing is far cheaper than running the initializers.
    return jax.eval_shape(module.init, jax.random.key(0), x)


def _spectral_paths(variables):
    flat = traverse_util.flatten_dict(variables.get("spectral", {}))
    return {"/".join(p[:-1]) for p in flat}


@pytest.mark.parametrize("arch", ARCHS)
def test_intermediate_sn_spares_first_and_output_dense(arch):
    policy = GaussianPolicy(torso_config(arch=arch, width=4, depth=3, spectral_norm="intermediate"), act_dim=2)
    variables = _init_shapes(policy, _x())
    dense = _dense_paths(variables["params"])
    first = "torso/proj" if arch == "modern" else "torso/hidden_0"
    assert {first, "out"} <= dense
    assert _spectral_paths(variables) == dense - {first, "out"}
    assert {r["name"] for r in param_table(variables) if r["sn"]} == dense - {first, "out"}


@pytest.mark.parametrize("arch", ARCHS)
def test_all_sn_covers_every_dense_and_none_covers_none(arch):
    x = _x()
    variables = _init_shapes(GaussianPolicy(torso_config(arch=arch, width=4, depth=2, spectral_norm="all"), 2), x)
    assert _spectral_paths(variables) == _dense_paths(variables["params"])
    variables = _init_shapes(GaussianPolicy(torso_config(arch=arch, width=4, depth=2), 2), x)
    assert "spectral" not in variables


def _unit_weights(arch, layer):
    """(module path, kernel column) whose Dense produces maskable unit outputs of `layer`."""
    return ("block_%d" % layer, "up") if arch == "modern" else ("hidden_%d" % layer,)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("layer", [0, 2])
def test_masked_units_do_not_affect_output(arch, layer):
    cfg = torso_config(arch=arch, width=6, depth=3, batch_norm=arch == "densenet")
    torso, x = Torso(cfg), _x()
    variables = torso.init(jax.random.key(0), x)
    widths = layer_widths(cfg, IN)
    masked_units = np.array([1, 4])
    mask = np.ones(widths[layer], np.float32)
    mask[masked_units] = 0.0
    masks = [None] * len(widths)
    masks[layer] = jnp.asarray(mask)

    @jax.jit
    def run(params):
        # Train mode exercises batch statistics too; the mask must hold in both modes.
        out, _ = torso.apply({**variables, "params": params}, x, train=True, masks=masks, mutable=["batch_stats"])
        return out, torso.apply({**variables, "params": params}, x, masks=masks)

    def perturb(units):
        flat = traverse_util.flatten_dict(variables["params"])
        path = _unit_weights(arch, layer)
        noise = jax.random.normal(jax.random.key(7), flat[path + ("kernel",)].shape)
        flat[path + ("kernel",)] = flat[path + ("kernel",)].at[:, units].add(noise[:, units])
        flat[path + ("bias",)] = flat[path + ("bias",)].at[units].add(1.0)
        return traverse_util.unflatten_dict(flat)

    base = run(variables["params"])
    for got, want in zip(run(perturb(masked_units)), base):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # The same perturbation on an unmasked unit does change the output.
    changed = run(perturb(np.array([0])))
    assert not np.allclose(changed[1], base[1])


def test_wrong_number_of_masks_raises():
    torso = Torso(torso_config(width=4, depth=3))
    variables = torso.init(jax.random.key(0), _x())
    with pytest.raises(ValueError, match="3 entries"):
        torso.apply(variables, _x(), masks=[None, None])


def test_batch_norm_train_updates_stats_and_eval_uses_them():
    torso = Torso(torso_config(arch="densenet", width=4, depth=2, batch_norm=True))
    x = 3.0 + _x(batch=16)
    variables = torso.init(jax.random.key(0), x)
    stats0 = variables["batch_stats"]
    np.testing.assert_array_equal(stats0["hidden_0_norm"]["mean"], 0.0)

    y_train, updates = torso.apply(variables, x, train=True, mutable=["batch_stats"])
    stats1 = updates["batch_stats"]
    assert not np.allclose(stats1["hidden_0_norm"]["mean"], 0.0)
    # Train mode normalizes with the batch's own statistics, so it depends on the batch.
    y_half, _ = torso.apply(variables, x[:8], train=True, mutable=["batch_stats"])
    assert not np.allclose(y_half, y_train[:8])

    # Eval mode: per-sample (batch independent), deterministic, and driven by the stored stats.
    evaluated = {**variables, "batch_stats": stats1}
    y_eval = torso.apply(evaluated, x)
    np.testing.assert_allclose(torso.apply(evaluated, x[:8]), y_eval[:8], rtol=1e-6)
    assert not np.allclose(torso.apply(variables, x), y_eval)
    _, unchanged = torso.apply(evaluated, x, mutable=["batch_stats"])
    np.testing.assert_array_equal(unchanged["batch_stats"]["hidden_0_norm"]["mean"], stats1["hidden_0_norm"]["mean"])


@pytest.mark.parametrize("arch", ["mlp", "resnet", "d2rl"])
def test_batch_norm_available_on_other_mlps(arch):
    variables = _init_shapes(Torso(torso_config(arch=arch, width=4, depth=2, batch_norm=True)), _x())
    assert set(variables["batch_stats"]) == {"hidden_0_norm", "hidden_1_norm"}


def test_layer_norm_torso_is_dense_then_layernorm_then_activation():
    """FastSAC's unit: silu(LN(W x + b)) with LN's scale and bias, per sample (no statistics)."""
    torso = Torso(torso_config(width=4, depth=2, layer_norm=True, activation="swish", ln_epsilon=1e-5))
    x = _x()
    variables = torso.init(jax.random.key(0), x)
    p = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(3), a.shape), variables["params"])
    assert set(p) == {"hidden_0", "hidden_0_norm", "hidden_1", "hidden_1_norm"}
    h = np.asarray(x, np.float64)
    for i in range(2):
        y = h @ np.asarray(p[f"hidden_{i}"]["kernel"], np.float64) + np.asarray(p[f"hidden_{i}"]["bias"])
        y = (y - y.mean(-1, keepdims=True)) / np.sqrt(y.var(-1, keepdims=True) + 1e-5)
        y = y * np.asarray(p[f"hidden_{i}_norm"]["scale"]) + np.asarray(p[f"hidden_{i}_norm"]["bias"])
        h = y / (1.0 + np.exp(-y))
    np.testing.assert_allclose(torso.apply({"params": p}, x), h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(torso.apply({"params": p}, x[:2]), h[:2], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="layer_norm=True needs arch='mlp' without batch_norm"):
        torso_config(layer_norm=True, batch_norm=True)


@pytest.mark.parametrize("activation,fn", [("relu", jax.nn.relu), ("swish", lambda z: z * jax.nn.sigmoid(z))])
def test_activation_is_selectable(activation, fn):
    torso = Torso(torso_config(width=4, depth=1, activation=activation))
    x = _x()
    variables = torso.init(jax.random.key(0), x)
    p = variables["params"]["hidden_0"]
    np.testing.assert_allclose(torso.apply(variables, x), fn(x @ p["kernel"] + p["bias"]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_sn_torso_trains_and_evaluates(arch):
    torso = Torso(torso_config(arch=arch, width=4, depth=2, spectral_norm="all", sn_iters=2))
    x = _x()
    variables = torso.init(jax.random.key(0), x)
    y, updates = torso.apply(variables, x, train=True, mutable=["spectral", "batch_stats"])
    assert np.all(np.isfinite(y))
    y_eval = torso.apply({**variables, **updates}, x)
    assert y_eval.shape == y.shape and np.all(np.isfinite(y_eval))
