"""The 'simbav2' torso (networks/archs/simbav2.py) against SimbaV2's definition, computed by
hand; the weight projection; the parameter counts of the issue with SimbaV2's heads."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.networks import Torso, torso_config, total_params
from largerl_jax.networks.archs.simbav2 import project
from largerl_jax.networks.hyper_heads import HyperCategoricalQ, HyperGaussianPolicy


def _l2(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def test_simbav2_torso_is_its_definition():
    h_dim, depth = 8, 2
    torso = Torso(torso_config(arch="simbav2", width=h_dim, depth=depth))
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    params = torso.init(jax.random.PRNGKey(0), jnp.asarray(x))["params"]
    # perturb the scalers so that their roles are visible
    params = jax.tree.map(lambda a: a * 1.3 if a.ndim == 1 else a, params)
    p = jax.tree.map(np.asarray, params)
    s = math.sqrt(2 / h_dim)
    z = _l2(np.concatenate([x, np.full((5, 1), 3.0, np.float32)], -1))
    h = _l2(p["embed_scaler"]["scaler"] * (s / s) * (z @ p["embed"]["hyper_dense"]["kernel"]))
    for i in range(depth):
        b = p[f"block_{i}"]
        si = s / 2
        y = np.maximum(b["up_scaler"]["scaler"] * (si / si) * (h @ b["up"]["hyper_dense"]["kernel"]), 0) + 1e-8
        y = _l2(y @ b["down"]["hyper_dense"]["kernel"])
        a = b["alpha"]["scaler"] * ((1 / (depth + 1)) / (1 / math.sqrt(h_dim)))
        h = _l2(h + a * (y - h))
    out = torso.apply({"params": params}, jnp.asarray(x))
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, rtol=1e-6)
    # stored scalers start at their 'scale' (sqrt(2/h) for the embedding, 1/sqrt(h) for alpha)
    fresh = torso.init(jax.random.PRNGKey(0), jnp.asarray(x))["params"]
    np.testing.assert_allclose(fresh["embed_scaler"]["scaler"], s)
    np.testing.assert_allclose(fresh["block_0"]["alpha"]["scaler"], 1 / math.sqrt(h_dim))


def test_the_projection_puts_every_kernel_column_on_the_unit_sphere_and_nothing_else():
    torso = Torso(torso_config(arch="simbav2", width=16, depth=2))
    params = torso.init(jax.random.PRNGKey(1), jnp.zeros((1, 5)))["params"]
    moved = jax.tree.map(lambda a: a * 1.7 + 0.01, params)  # an optimizer step's drift
    ensemble = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), moved)  # [K, in, out] kernels too
    for tree in (moved, ensemble):
        out = project(tree)
        for path, leaf in jax.tree_util.tree_leaves_with_path(out):
            names = [getattr(k, "key", None) for k in path]
            if "hyper_dense" in names:
                np.testing.assert_allclose(np.linalg.norm(np.asarray(leaf), axis=-2), 1.0, atol=1e-6)
        scalers = [x for p, x in jax.tree_util.tree_leaves_with_path(out) if "scaler" in str(p)]
        before = [x for p, x in jax.tree_util.tree_leaves_with_path(tree) if "scaler" in str(p)]
        assert all(np.array_equal(a, b) for a, b in zip(scalers, before))


def test_parameter_counts_on_dmc_humanoid_match_the_issue():
    """SimbaV2 on DMC humanoid (67/21): actor 0.18M, critic 4.56M (one critic on DMC), the heads
    being SimbaV2's (networks.hyper_heads)."""
    actor = HyperGaussianPolicy(torso=torso_config(arch="simbav2", width=128, depth=1), act_dim=21)
    critic = HyperCategoricalQ(torso=torso_config(arch="simbav2", width=512, depth=2), num_q=1, bins=101)
    n_actor = total_params(jax.eval_shape(actor.init, jax.random.PRNGKey(0), jnp.zeros((1, 67))))
    n_critic = total_params(jax.eval_shape(critic.init, jax.random.PRNGKey(0), jnp.zeros((1, 88))))
    assert (n_actor, n_critic) == (178_986, 4_559_973)
    assert n_actor == pytest.approx(0.18e6, rel=0.02) and n_critic == pytest.approx(4.56e6, rel=0.02)
