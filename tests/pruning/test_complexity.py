"""Complexity-aware thresholds (spec eqs. 28-34) and Table 4 parameter counts (spec 6.4)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.pruning import complexity


def _random_widths(key, n_s=8, n_sa=8):
    k = jax.random.split(key, 7)
    S = jax.random.uniform(k[0], (n_s,)) * 128
    T = jax.random.uniform(k[1], (n_sa,)) * 128
    first = {m: jax.random.uniform(kk, ()) * 512 for m, kk in zip(("pi", "V", "Q1", "Q2"), k[2:6])}
    gamma = jax.random.uniform(k[6], ())
    return S, T, first, gamma


@pytest.mark.parametrize("seed", range(5))
def test_producer_pays_identity_eq30(seed):
    S, T, first, gamma = _random_widths(jax.random.PRNGKey(seed))
    d_s, d_a, d_o = 17, 6, 17
    c_s, c_sa = complexity.ofe_thresholds(S, T, first, d_s, d_a, d_o, gamma)
    lhs = c_s @ S + c_sa @ T
    rhs = complexity.ofe_cost(S, T, first, d_s, d_a, d_o, gamma) - complexity.ofe_cost(0 * S, 0 * T, first, d_s, d_a, d_o, gamma)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


def test_producer_pays_charges_earlier_layers_more():
    # Spec 4.5's example: OFE-Big HalfCheetah at pi = 1, gamma = 0.1.
    S = T = jnp.full((8,), 128.0)
    first = {m: jnp.float32(512.0) for m in ("pi", "V", "Q1", "Q2")}
    c_s, c_sa = complexity.ofe_thresholds(S, T, first, 17, 6, 17, 0.1)
    assert jnp.all(jnp.diff(c_s) < 0) and jnp.all(jnp.diff(c_sa) < 0)
    np.testing.assert_allclose([c_s[0], c_s[-1], c_sa[0], c_sa[-1]], [1692, 789, 197, 107], rtol=0.01)


def test_gradient_attribution_is_the_derivative_of_the_cost():
    S, T, first, gamma = _random_widths(jax.random.PRNGKey(7))
    args = (17, 6, 17, gamma)
    g_s, g_sa = jax.grad(lambda s, t: complexity.ofe_cost(s, t, first, *args), argnums=(0, 1))(S, T)
    c_s, c_sa = complexity.ofe_thresholds(S, T, first, *args, attribution="gradient")
    np.testing.assert_allclose(c_s, g_s, rtol=1e-5)
    np.testing.assert_allclose(c_sa, g_sa, rtol=1e-5)


def test_mlp_thresholds_identity_and_gradient():
    hidden = jnp.array([300.0, 170.5, 40.0])
    c = complexity.mlp_thresholds(hidden, 120, 12)
    np.testing.assert_allclose(c @ hidden, complexity.mlp_cost(hidden, 120, 12) - complexity.mlp_cost(0 * hidden, 120, 12), rtol=1e-6)
    np.testing.assert_allclose(complexity.mlp_thresholds(hidden, 120, 12, "gradient"),
                               jax.grad(complexity.mlp_cost)(hidden, 120, 12), rtol=1e-6)
    with pytest.raises(ValueError, match="attribution must be one of"):
        complexity.mlp_thresholds(hidden, 120, 12, "half")


# Spec 6.4's counts with the convention that reproduces the paper's Table 4 (v2 observation sizes).
@pytest.mark.parametrize(
    "d_s,d_a,ofe_layers,ofe_units,hidden,expected",
    [
        (17, 6, 8, 32, 256, (173_844, 820_559)),  # OFE HalfCheetah
        (17, 6, 8, 128, 512, (1_285_268, 6_275_919)),  # OFE-Big HalfCheetah
        (17, 6, 0, 0, 256, (73_484, 288_527)),  # SAC HalfCheetah
        (17, 6, 0, 0, 1024, (1_080_332, 4_299_791)),  # SAC-Big HalfCheetah
        (111, 8, 6, 32, 256, (186_122, 798_135)),  # OFE Ant
        (11, 3, 6, 32, 256, (138_152, 650_015)),  # OFE Hopper
        (17, 6, 6, 32, 256, (142_418, 662_207)),  # OFE Walker2d
    ],
)
def test_table4_counts(d_s, d_a, ofe_layers, ofe_units, hidden, expected):
    hid = {m: [hidden, hidden] for m in ("pi", "V", "Q1", "Q2")}
    counts = complexity.deploy_train_params(d_s, d_a, [ofe_units] * ofe_layers, [ofe_units] * ofe_layers, hid)
    assert (counts["deploy"], counts["train"]) == expected
