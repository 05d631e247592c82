import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from largerl_jax.networks import (
    tanh_gaussian_log_prob,
    tanh_gaussian_mode,
    tanh_gaussian_sample,
    tanh_log_det_jacobian,
)

MEAN, STD = 0.4, 1.3


def _analytic_log_density(a, mean, std):
    """float64 change of variables: log N(atanh a; mean, std) - log(1 - a^2)."""
    u = np.arctanh(a)
    return -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi) - np.log1p(-(a**2))


_log_prob_1d = jax.jit(
    lambda a: tanh_gaussian_log_prob(jnp.array([MEAN]), jnp.log(jnp.array([STD])), jnp.arctanh(a)[None])
)


def test_1d_density_integrates_to_one():
    # float32 evaluation noise (~1e-7) bounds the attainable accuracy, hence epsabs.
    density = lambda a: float(jnp.exp(_log_prob_1d(jnp.float32(a))))  # noqa: E731
    total, _ = integrate.quad(density, -1.0, 1.0, limit=200, epsabs=1e-6)
    assert total == pytest.approx(1.0, abs=1e-4)


def test_1d_density_matches_change_of_variables():
    grid = np.linspace(-0.99, 0.99, 101)
    ours = np.array([float(_log_prob_1d(jnp.float32(a))) for a in grid])
    np.testing.assert_allclose(ours, _analytic_log_density(grid, MEAN, STD), atol=2e-4)


def test_log_det_is_stable_for_large_pre_tanh():
    u = np.array([-60.0, -20.0, -3.0, 0.0, 3.0, 20.0, 60.0])
    # log(1 - tanh(u)^2) = log 4 - 2|u| - 2 log(1 + exp(-2|u|)), evaluated in float64.
    expected = np.log(4.0) - 2 * np.abs(u) - 2 * np.log1p(np.exp(-2 * np.abs(u)))
    ours = np.asarray(tanh_log_det_jacobian(jnp.asarray(u, jnp.float32)))
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_multidim_log_prob_is_sum_over_dims():
    key = jax.random.key(0)
    mean = jax.random.normal(key, (5, 3))
    log_std = 0.3 * jax.random.normal(jax.random.key(1), (5, 3))
    u = jax.random.normal(jax.random.key(2), (5, 3))
    joint = tanh_gaussian_log_prob(mean, log_std, u)
    per_dim = sum(tanh_gaussian_log_prob(mean[:, d : d + 1], log_std[:, d : d + 1], u[:, d : d + 1]) for d in range(3))
    assert joint.shape == (5,)
    np.testing.assert_allclose(joint, per_dim, rtol=1e-5)


def test_samples_in_open_interval_and_log_prob_consistent():
    mean = jnp.zeros((1000, 4))
    log_std = jnp.zeros((1000, 4))
    action, log_prob = tanh_gaussian_sample(mean, log_std, jax.random.key(3))
    assert action.shape == (1000, 4) and log_prob.shape == (1000,)
    assert np.all(np.abs(np.asarray(action)) < 1.0)
    recomputed = tanh_gaussian_log_prob(mean, log_std, jnp.arctanh(action))
    np.testing.assert_allclose(log_prob, recomputed, rtol=1e-3, atol=1e-3)


def test_sample_is_reparameterized():
    def mean_action(mean):
        return tanh_gaussian_sample(mean, jnp.zeros(2), jax.random.key(0))[0].sum()

    assert np.all(np.asarray(jax.grad(mean_action)(jnp.zeros(2))) > 0)


def test_mode_is_tanh_of_mean():
    mean = jnp.array([[-3.0, 0.0, 0.5]])
    np.testing.assert_allclose(tanh_gaussian_mode(mean), np.tanh(np.asarray(mean)), rtol=1e-6)
