"""Effective rank of a critic's penultimate features (Kumar et al. 2021, "Implicit
under-parameterization"; Ota et al. 2021, App. A.4):

    srank_delta(Phi) = min { k : sum_{i<=k} sigma_i(Phi) / sum_i sigma_i(Phi) >= 1 - delta }

for the singular values sigma_1 >= sigma_2 >= ... of the feature matrix Phi [B, D], uncentred
as in Kumar et al. Both functions are jittable and vmappable (over seeds, say), so a trainer can
record them at every evaluation on a fixed replay batch; the cost is one SVD of [B, D] per
ensemble member.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import Agent
from largerl_jax.networks.lapack_batching import one_at_a_time


def rank_of_spectrum(s, delta: float = 0.01):
    """srank from singular values ``s`` [..., n] in descending order; NumPy or JAX arrays alike.
    0 for an all-zero spectrum (then k = 0 already holds the whole, zero, sum: a critic whose
    units are all dead has no feature direction)."""
    partial = s.cumsum(axis=-1)
    total = partial[..., -1]
    # min k with partial[k-1] >= (1 - delta) * total: one more than the prefixes that fall short
    short = (partial < (1.0 - delta) * total[..., None]).sum(axis=-1)
    return ((total > 0) * (short + 1)).astype("int32")


_singular_values = one_at_a_time(lambda m: jnp.linalg.svd(m, compute_uv=False))


def srank(features: jax.Array, delta: float = 0.01) -> jax.Array:
    """int32 effective rank of ``features`` [B, D] (jittable; vmapped, its SVDs run one at a time,
    networks.lapack_batching)."""
    return rank_of_spectrum(_singular_values(features.astype(jnp.float32)), delta)


def srank_host(features: np.ndarray, delta: float = 0.01) -> np.ndarray:
    """The effective ranks of a stack of feature matrices [..., B, D], computed on the host
    (the trainer's choice at evaluation time; see training.eval_metrics)."""
    return rank_of_spectrum(np.linalg.svd(np.asarray(features, np.float64), compute_uv=False), delta)


def critic_features(agent: Agent, agent_state, batch, key: jax.Array) -> jax.Array:
    """The online critic's penultimate features [K, B, D] on ``batch`` (agent.critic_probe)."""
    if agent.critic_probe is None:
        raise ValueError(f"agent {agent.name!r} has no critic_probe: its critic's features cannot be read")
    return agent.critic_probe(agent_state, batch, key).features()


def critic_srank(agent: Agent, agent_state, batch, key: jax.Array, delta: float = 0.01) -> dict[str, jax.Array]:
    """One seed's critic: {'srank': mean over the K ensemble members (float32), 'srank/q<i>':
    member i's srank (float32, so the dict averages and logs like other metrics)}, from the
    penultimate features of the online critic on ``batch`` (agent.critic_probe; ``key`` only
    feeds the probe's TD target, which jit drops as unused)."""
    features = critic_features(agent, agent_state, batch, key)  # [K, B, D]
    ranks = jax.vmap(lambda f: srank(f, delta))(features).astype(jnp.float32)
    out = {"srank": ranks.mean()}
    out.update({f"srank/q{i}": ranks[i] for i in range(ranks.shape[0])})
    return out
