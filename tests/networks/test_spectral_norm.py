import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.networks import SNDense, sigma_from_u

IN, OUT = 24, 16


def _layer_with_random_kernel(sn_iters=1, scale=3.0):
    layer = SNDense(OUT, use_sn=True, sn_iters=sn_iters)
    x = jnp.ones((2, IN))
    variables = layer.init(jax.random.key(0), x)
    kernel = scale * jax.random.normal(jax.random.key(1), (IN, OUT))
    params = {"kernel": kernel, "bias": jnp.zeros(OUT)}
    return layer, params, variables["spectral"], x


def _train_steps(layer, params, spectral, x, n):
    @jax.jit
    def step(spectral):
        _, updates = layer.apply({"params": params, "spectral": spectral}, x, train=True, mutable=["spectral"])
        return updates["spectral"]

    for _ in range(n):
        spectral = step(spectral)
    return spectral


def test_u_is_a_unit_vector_in_spectral_collection():
    _, _, spectral, _ = _layer_with_random_kernel()
    assert spectral["u"].shape == (OUT,)
    np.testing.assert_allclose(jnp.linalg.norm(spectral["u"]), 1.0, rtol=1e-5)


def test_sigma_from_carried_u_converges_to_top_singular_value():
    layer, params, spectral, x = _layer_with_random_kernel()
    spectral = _train_steps(layer, params, spectral, x, 200)
    top = np.linalg.svd(np.asarray(params["kernel"]), compute_uv=False)[0]
    sigma = float(sigma_from_u(params["kernel"], spectral["u"]))
    assert abs(sigma / top - 1.0) < 0.01


def test_effective_kernel_has_unit_spectral_norm():
    layer, params, spectral, x = _layer_with_random_kernel(sn_iters=3)
    spectral = _train_steps(layer, params, spectral, x, 60)
    # Zero bias makes the layer linear, so its Jacobian is the effective (normalized) kernel.
    jac = jax.jacobian(lambda v: layer.apply({"params": params, "spectral": spectral}, v))(jnp.zeros(IN))
    top = np.linalg.svd(np.asarray(jac), compute_uv=False)[0]
    assert top == pytest.approx(1.0, rel=0.01)
    plain = np.linalg.svd(np.asarray(params["kernel"]), compute_uv=False)[0]
    assert plain > 5.0  # the normalization did something


def test_eval_reads_but_never_writes_u():
    layer, params, spectral, x = _layer_with_random_kernel()
    variables = {"params": params, "spectral": spectral}
    y1, state = layer.apply(variables, x, train=False, mutable=["spectral"])
    np.testing.assert_array_equal(state["spectral"]["u"], spectral["u"])
    np.testing.assert_array_equal(y1, layer.apply(variables, x))
    # Eval output depends on the stored u: a converged u gives a different sigma than the initial one.
    converged = _train_steps(layer, params, spectral, x, 50)
    y2 = layer.apply({"params": params, "spectral": converged}, x)
    assert not np.allclose(y1, y2)


def test_train_mode_writes_new_u():
    layer, params, spectral, x = _layer_with_random_kernel()
    new = _train_steps(layer, params, spectral, x, 1)
    assert not np.allclose(new["u"], spectral["u"])


def test_train_without_mutable_spectral_raises():
    layer, params, spectral, x = _layer_with_random_kernel()
    with pytest.raises(Exception):
        layer.apply({"params": params, "spectral": spectral}, x, train=True)


def test_gradient_reaches_kernel_not_u():
    layer, params, spectral, x = _layer_with_random_kernel()

    def loss(params, spectral):
        y, _ = layer.apply({"params": params, "spectral": spectral}, x, train=True, mutable=["spectral"])
        return jnp.sum(y**2)

    g_params, g_spectral = jax.grad(loss, argnums=(0, 1))(params, spectral)
    assert np.all(np.isfinite(g_params["kernel"])) and np.abs(g_params["kernel"]).sum() > 0
    np.testing.assert_array_equal(g_spectral["u"], 0.0)


def test_without_sn_it_is_a_plain_dense():
    layer = SNDense(OUT, use_sn=False)
    x = jax.random.normal(jax.random.key(2), (3, IN))
    variables = layer.init(jax.random.key(0), x)
    assert "spectral" not in variables
    p = variables["params"]
    np.testing.assert_allclose(layer.apply(variables, x), x @ p["kernel"] + p["bias"], rtol=1e-6)
