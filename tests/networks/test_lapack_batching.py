"""QR and SVD one matrix at a time (networks.lapack_batching): same draws and values as the
batched calls, and no hang where batched ones hang (a program of several concurrent batched QRs
on a 2-core machine: jaxlib 0.10.2 deadlocks its intra-op pool)."""
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from largerl_jax.networks import dense_singular_values, initializers


@pytest.mark.parametrize("ours,flax_init,shape", [
    (initializers.orthogonal(), nn.initializers.orthogonal(), (24, 40)),
    (initializers.orthogonal(), nn.initializers.orthogonal(), (40, 24)),
    (initializers.delta_orthogonal(), nn.initializers.delta_orthogonal(scale=np.sqrt(2.0)), (3, 3, 8, 8)),
])
def test_draws_are_flaxs_bit_for_bit(ours, flax_init, shape):
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    batched = jax.jit(jax.vmap(lambda k: flax_init(k, shape, jnp.float32)))(keys)
    sequential = jax.jit(jax.vmap(lambda k: ours(k, shape, jnp.float32)))(keys)
    np.testing.assert_array_equal(sequential, batched)
    np.testing.assert_array_equal(ours(keys[1], shape, jnp.float32), batched[1])


def test_singular_values_of_ensembles_vmapped_over_seeds():
    kernels = jax.random.normal(jax.random.PRNGKey(0), (3, 2, 6, 5))  # [seeds, members, in, out]
    values = jax.jit(jax.vmap(lambda k: dense_singular_values({"params": {"d": {"kernel": k}}})["d"]))(kernels)
    expected = np.linalg.svd(np.asarray(kernels), compute_uv=False)[..., 0].max(axis=1)
    np.testing.assert_allclose(values, expected, rtol=1e-5)


PROGRAM = textwrap.dedent("""
    import jax, jax.numpy as jnp
    from largerl_jax.networks import initializers
    orth = initializers.orthogonal()
    def init(key):  # six independent QRs, each batched over 2 x 4 keys by the vmaps
        return [orth(k, (96, 160), jnp.float32) for k in jax.random.split(key, 6)]
    f = jax.jit(jax.vmap(jax.vmap(init)))
    for i in range(30):
        jax.block_until_ready(f(jax.random.split(jax.random.PRNGKey(i), 8).reshape(2, 4, 2)))
    print("done")
""")


def test_concurrent_batched_qrs_finish():
    """With Flax's initialiser in place of ours this program hangs on a 2-core machine (seen
    within its first iterations, 2026-12-06); with ours it finishes in seconds."""
    proc = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr[-2000:]
