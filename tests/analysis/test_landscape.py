"""Loss landscapes (Li et al. 2018; Ota et al. 2021 A.3): filter normalisation by its
definition, the grid's layout, and the critic's landscape through the trained weights."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.agents.interface import CriticProbe
from largerl_jax.analysis import filter_normalized_direction, frozen_td_loss, grid, loss_surface, two_directions
from largerl_jax.networks import QNetwork, torso_config


def _params():
    k = jax.random.split(jax.random.PRNGKey(0), 6)
    return {
        "dense": {"kernel": jax.random.normal(k[0], (7, 4)), "bias": jax.random.normal(k[1], (4,))},
        "conv": {"kernel": jax.random.normal(k[2], (3, 3, 2, 5))},
        "norm": {"scale": jax.random.normal(k[3], (4,))},
        "ensemble": {"out": {"kernel": jax.random.normal(k[4], (2, 6, 3)), "bias": jax.random.normal(k[5], (2, 3))}},
    }


def test_filter_normalisation_matches_its_definition():
    params = _params()
    d = jax.jit(filter_normalized_direction)(jax.random.PRNGKey(1), params)
    assert jax.tree.structure(d) == jax.tree.structure(params)
    # each output unit's / channel's norm over its fan-in equals the trained filter's
    for w, x, axes in [
        (params["dense"]["kernel"], d["dense"]["kernel"], (0,)),
        (params["conv"]["kernel"], d["conv"]["kernel"], (0, 1, 2)),
        (params["ensemble"]["out"]["kernel"], d["ensemble"]["out"]["kernel"], (1,)),  # per member
    ]:
        norm = lambda a: np.sqrt(np.sum(np.square(np.asarray(a, np.float64)), axis=axes))
        np.testing.assert_allclose(norm(x), norm(w), rtol=1e-5)
        assert not np.allclose(x, w)  # a random direction, not the weights
    # 1-D parameters (also per ensemble member) are left alone
    for leaf in (d["dense"]["bias"], d["norm"]["scale"], d["ensemble"]["out"]["bias"]):
        assert not np.any(np.asarray(leaf))
    d1, d2 = jax.jit(two_directions)(jax.random.PRNGKey(1), params)
    assert not np.allclose(d1["dense"]["kernel"], d2["dense"]["kernel"])
    again, _ = jax.jit(two_directions)(jax.random.PRNGKey(1), params)
    np.testing.assert_array_equal(d1["dense"]["kernel"], again["dense"]["kernel"])


def test_surface_layout_and_chunking():
    w = {"a": jnp.array([1.0, -2.0])}
    d1, d2 = {"a": jnp.array([1.0, 0.0])}, {"a": jnp.array([0.0, 3.0])}
    alphas, betas = grid(5, 2.0), jnp.array([-1.0, 0.5, 1.0])
    assert grid(5, 2.0).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    loss = lambda p: jnp.sum(jnp.square(p["a"]))
    surface = loss_surface(loss, w, d1, d2, alphas, betas)
    expected = (1 + alphas[:, None]) ** 2 + (-2 + 3 * betas[None, :]) ** 2
    np.testing.assert_allclose(surface, expected, rtol=1e-6)
    np.testing.assert_allclose(loss_surface(loss, w, d1, d2, alphas, betas, batch_size=4), surface, rtol=1e-6)


def test_critic_surface_passes_through_the_unperturbed_loss():
    critic = QNetwork(torso_config(arch="mlp", width=16, depth=2), num_q=2)
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    z_sa, target = jax.random.normal(k[0], (100, 7)), jax.random.normal(k[2], (100,))

    @jax.jit  # one program (one compile)
    def run():
        variables = critic.init(k[1], z_sa)
        probe = CriticProbe(module=critic, variables=variables, inputs=(z_sa,), target=target)
        params = variables["params"]
        d1, d2 = two_directions(jax.random.PRNGKey(3), params)
        coeffs = grid(5, 0.5)
        surface = loss_surface(frozen_td_loss(probe, rows_per_chunk=32), params, d1, d2, coeffs, coeffs, batch_size=7)
        return surface, frozen_td_loss(probe)(params), critic.apply(variables, z_sa)

    surface, whole, q = run()
    # independently: eq. (2) of the unperturbed members, averaged
    trained = 0.5 * np.mean((np.asarray(q, np.float64) - np.asarray(target, np.float64)[None]) ** 2)  # q: [2, 100]
    assert surface.shape == (5, 5)
    assert float(surface[2, 2]) == pytest.approx(trained, rel=1e-5)  # rows in chunks, padded and masked
    assert float(whole) == pytest.approx(trained, rel=1e-5)  # all rows at once
    assert abs(float(surface[0, 4]) - trained) > 1e-3 * trained
