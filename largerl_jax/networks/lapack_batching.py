"""LAPACK calls (QR, SVD) one matrix at a time, however they are batched.

On CPU, XLA runs a batched QR or SVD as a LAPACK custom call that splits its batch over XLA's
intra-op thread pool and waits for the parts. When two such calls run at once (independent
layers' initialisers or singular values in one program) on a pool of two threads (a 2-core
machine), each holds a thread and waits for work queued behind the other, and the program hangs
forever (jaxlib 0.10.2; tests/networks/test_lapack_batching.py has the reproduction). A batch
run as a sequential loop of unbatched calls (``jax.custom_batching.sequential_vmap`` for vmapped
seeds, ``lax.map`` for a leading member axis) runs each call inline on its thread, and gives
bit-identical results: each matrix is factorised by the same routine either way (tested).
"""
from __future__ import annotations

import jax


def one_at_a_time(fn):
    """``fn(x)`` of one unbatched input whose vmap is a sequential loop over the batch."""
    return jax.custom_batching.sequential_vmap(fn)


def over_leading_axis(fn, x: jax.Array, unbatched_ndim: int) -> jax.Array:
    """``fn`` (one_at_a_time) applied to each matrix of ``x``, whose trailing ``unbatched_ndim``
    axes make one input, looping over any leading axes."""
    if x.ndim == unbatched_ndim:
        return fn(x)
    return jax.lax.map(lambda m: over_leading_axis(fn, m, unbatched_ndim), x)
