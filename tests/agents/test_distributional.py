"""The distributional TD pieces against hand-computed cases (agents/distributional.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents.distributional import (
    categorical_loss,
    categorical_projection,
    quantile_huber_loss,
    quantile_midpoints,
)


def test_quantile_midpoints():
    np.testing.assert_allclose(quantile_midpoints(4), [0.125, 0.375, 0.625, 0.875])


def test_quantile_huber_loss_by_hand():
    taus = jnp.array([0.25, 0.75])
    pred = jnp.array([[0.0, 1.0]])
    target = jnp.array([[0.5, 3.0]])
    # u_ij = target_j - pred_i: [[0.5, 3.0], [-0.5, 2.0]]
    # Huber (kappa 1): [[0.125, 2.5], [0.125, 1.5]]; weights |tau_i - 1{u<0}|: [[.25, .25], [.25, .75]]
    # sum over i: [0.03125 + 0.03125, 0.625 + 1.125] = [0.0625, 1.75]; mean over j: 0.90625
    assert float(quantile_huber_loss(pred, target, taus)) == pytest.approx(0.90625)
    # kappa 2: Huber [[0.125, 4.0], [0.125, 2.0]] / 2 -> sums [0.03125, 1.25 + 0.75] ... mean
    expected = (0.25 * 0.125 + 0.25 * 0.125) / 2 + (0.25 * 4.0 + 0.75 * 2.0) / 2
    assert float(quantile_huber_loss(pred, target, taus, kappa=2.0)) == pytest.approx(expected / 2)
    # gradient flows into pred only
    g = jax.grad(lambda t: quantile_huber_loss(pred, t, taus))(target)
    assert np.all(np.asarray(g) == 0)


def test_categorical_projection_by_hand_and_on_exact_bins():
    # atoms -1, 0, 1 (delta 1)
    probs = jnp.array([[0.2, 0.5, 0.3]])
    # returns: -1.5 (clipped to -1: atom 0), 0.25 (3/4 to atom 1, 1/4 to atom 2), 1.0 (exactly atom 2)
    returns = jnp.array([[-1.5, 0.25, 1.0]])
    out = np.asarray(categorical_projection(probs, returns, -1.0, 1.0))
    np.testing.assert_allclose(out, [[0.2, 0.375, 0.125 + 0.3]], atol=1e-7)
    # every return on an atom: the mass moves whole (without the fix it would vanish)
    on_atoms = np.asarray(categorical_projection(probs, jnp.array([[0.0, 1.0, -1.0]]), -1.0, 1.0))
    np.testing.assert_allclose(on_atoms, [[0.3, 0.2, 0.5]], atol=1e-7)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(11), size=5).astype(np.float32)
    r = rng.normal(0, 4, (5, 11)).astype(np.float32)
    proj = np.asarray(categorical_projection(jnp.asarray(p), jnp.asarray(r), -5.0, 5.0))
    np.testing.assert_allclose(proj.sum(-1), 1.0, rtol=1e-6)
    # the projection keeps the mean of the clipped returns
    atoms = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(proj @ atoms, (p * np.clip(r, -5, 5)).sum(-1), atol=1e-5)


def test_categorical_loss_is_cross_entropy():
    logits = jnp.array([[0.0, np.log(3.0)]])  # softmax [0.25, 0.75]
    target = jnp.array([[1.0, 0.0]])
    assert float(categorical_loss(logits, target)) == pytest.approx(-np.log(0.25))
