"""Running mean and variance of a stream of vectors, as carried state: the observation
normaliser of SimBa and SimbaV2 (and anything else that standardises its inputs online).

The update is the parallel (Chan et al.) combination of the stored moments with a batch's, the
same formula as Gymnasium's ``RunningMeanStd`` that SimBa's wrapper uses
(SonyResearch/simba, scale_rl/agents/wrappers/utils.py): ``count`` starts at ``initial_count``
(1e-4 there) so the first batch sets the moments almost alone, ``var`` at 1 and ``mean`` at 0.
State is float32 (theirs float64): the relative error of the moments stays at float32's
resolution, and ``count`` is exact while it is below 2**24 (16.7M) samples; beyond that each
new sample's weight, 1/count, is below float32's spacing anyway.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningStats:
    mean: jax.Array  # [D]
    var: jax.Array  # [D], population variance of the stream
    count: jax.Array  # scalar float32


def init_stats(dim: int, initial_count: float = 1e-4) -> RunningStats:
    return RunningStats(mean=jnp.zeros((dim,), jnp.float32), var=jnp.ones((dim,), jnp.float32),
                        count=jnp.float32(initial_count))


def update_stats(stats: RunningStats, x: jax.Array) -> RunningStats:
    """``stats`` with the rows of ``x`` [N, D] taken in."""
    x = x.astype(jnp.float32).reshape(-1, stats.mean.shape[-1])
    n = jnp.float32(x.shape[0])
    batch_mean = x.mean(axis=0)
    batch_var = x.var(axis=0)
    delta = batch_mean - stats.mean
    total = stats.count + n
    m2 = stats.var * stats.count + batch_var * n + jnp.square(delta) * stats.count * n / total
    return RunningStats(mean=stats.mean + delta * n / total, var=m2 / total, count=total)


def normalize(stats: RunningStats, x: jax.Array, eps: float) -> jax.Array:
    """(x - mean) / sqrt(var + eps), SimBa's ``ObservationNormalizer._normalize`` (eps 1e-8)."""
    return (x - stats.mean) / jnp.sqrt(stats.var + eps)
