"""Orthogonal kernel initialisers (Flax's ``orthogonal`` and ``delta_orthogonal``) whose QR runs
one matrix at a time when vmapped over seeds or ensemble members (networks.lapack_batching: a
batched QR can hang a 2-core machine). The draws are bit-identical to Flax's (tested)."""
from __future__ import annotations

import math

import flax.linen as nn
import jax

from largerl_jax.networks.lapack_batching import one_at_a_time


def unbatched(init):
    """``init(key, shape, dtype)`` whose vmap is a sequential loop over the batch of keys."""

    def wrapped(key, shape, dtype=jax.numpy.float32):
        return one_at_a_time(lambda k: init(k, shape, dtype))(key)

    return wrapped


def orthogonal(scale: float = 1.0, column_axis: int = -1):
    return unbatched(nn.initializers.orthogonal(scale=scale, column_axis=column_axis))


def delta_orthogonal(scale: float = math.sqrt(2.0)):
    return unbatched(nn.initializers.delta_orthogonal(scale=scale))
