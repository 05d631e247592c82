"""training.seed_map: a one-seed batch runs the function unvmapped (its dots have no batch
dimension), with the same results; more seeds, or the switch off, vmap."""
import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.training.seed_map import seed_map


def _fn(w, x):
    return {"y": x @ w, "n": jnp.sum(w)}


def _dot_batch_dims(f, *args):
    eqns = [e for e in jax.make_jaxpr(f)(*args).jaxpr.eqns if e.primitive.name == "dot_general"]
    (eqn,) = eqns
    (_, _), (batch_lhs, _) = eqn.params["dimension_numbers"]
    return tuple(batch_lhs)


def test_one_seed_runs_unvmapped_and_more_seeds_vmap():
    w = jax.random.normal(jax.random.PRNGKey(0), (3, 4, 5))
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 2, 4))
    for s in (1, 3):
        out = seed_map(_fn)(w[:s], x[:s])
        ref = jax.vmap(_fn)(w[:s], x[:s])
        assert jax.tree.map(jnp.shape, out) == jax.tree.map(jnp.shape, ref)
        np.testing.assert_allclose(out["y"], ref["y"], rtol=1e-5)
        np.testing.assert_allclose(out["n"], ref["n"], rtol=1e-5)
    assert _dot_batch_dims(seed_map(_fn), w[:1], x[:1]) == ()  # one seed: a plain dot
    assert _dot_batch_dims(seed_map(_fn), w, x) == (0,)  # three: the batched dot
    assert _dot_batch_dims(seed_map(_fn, unbatch_one=False), w[:1], x[:1]) == (0,)
