"""Exact largest singular values of every Dense layer of a network (Bjorck et al. 2021, Fig. 5).

The value reported is that of the map the layer applies: for a spectrally normalized layer the
kernel divided by its power-iteration estimate sigma(u) (what the forward pass uses), otherwise
the kernel itself. Computed by SVD, so it checks the estimate rather than trusting it; meant for
evaluation time, not for the training step (an SVD of a 1024 x 2048 kernel costs ~0.1 s on a CPU).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from largerl_jax.networks.lapack_batching import one_at_a_time, over_leading_axis
from largerl_jax.networks.spectral_norm import sigma_from_u


_top_singular_value = one_at_a_time(lambda m: jnp.linalg.svd(m, compute_uv=False)[0])


def _sigma_max(kernel: jax.Array) -> jax.Array:
    """Of each [in, out] matrix of ``kernel``, one SVD at a time (networks.lapack_batching)."""
    return over_leading_axis(_top_singular_value, kernel, 2)


def _dense_layers(params, spectral, path=()):
    """Yields (path, kernel, u or None) for every dict holding a Dense 'kernel'."""
    if isinstance(params, dict) or hasattr(params, "items"):
        # 2 dims, or 3 with an ensemble axis; conv kernels ([h, w, in, out]) are not Dense maps
        if "kernel" in params and getattr(params["kernel"], "ndim", 0) in (2, 3):
            u = spectral.get("u") if spectral is not None and hasattr(spectral, "get") else None
            yield path, params["kernel"], u
        for name, child in params.items():
            if name == "kernel" or name == "bias":
                continue
            sub = spectral.get(name) if spectral is not None and hasattr(spectral, "get") else None
            yield from _dense_layers(child, sub, path + (name,))


def dense_singular_values(variables: dict) -> dict[str, jax.Array]:
    """{'a/b/layer': largest singular value} of a network's Dense layers. Kernels with a leading
    ensemble axis ([K, in, out], e.g. twin critics) report the largest over the members."""
    out = {}
    for path, kernel, u in _dense_layers(variables["params"], variables.get("spectral")):
        if u is not None:
            estimate = jax.vmap(sigma_from_u)(kernel, u) if kernel.ndim == 3 else sigma_from_u(kernel, u)
            kernel = kernel / jnp.maximum(estimate, 1e-12)[..., None, None]
        out["/".join(path)] = jnp.max(_sigma_max(kernel))
    return out
