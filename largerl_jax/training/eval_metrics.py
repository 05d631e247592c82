"""Quantities recorded at every evaluation besides the returns, each one jitted program over the
seed-batch: singular values of the networks' layers (Bjorck et al.) and the critic's effective
rank on a fixed replay batch (Kumar et al. 2021; Ota et al. 2021, Sec. 4.1)."""
from __future__ import annotations

import jax
import numpy as np

from largerl_jax.analysis import critic_features, srank_host
from largerl_jax.networks import dense_singular_values
from largerl_jax.training import devices

# The srank batch is drawn with this key at every evaluation: the same draw of row positions,
# so successive values differ by what the critic learned and what the replay now holds, not by
# sampling noise between evaluations.
SRANK_KEY = 0x5A4E


def singular_value_fn(agent):
    """Jitted: seed-batched agent state -> {'sv/<network>/<layer>': [S]} (see
    networks.dense_singular_values)."""

    def one_seed(agent_state):
        return {
            f"sv/{net}/{layer}": value
            for net, (_, variables) in agent.networks(agent_state).items()
            for layer, value in dense_singular_values(variables).items()
        }

    return devices.per_row(one_seed)


def srank_fn(learner, batch_size: int, delta: float = 0.01):
    """Seed-batched train state -> {'srank': [S], 'srank/q<i>': [S]} (host arrays): the effective
    rank of the online critic's penultimate features on ``batch_size`` stored transitions. The
    devices compute the features, each its own rows; the SVDs run on the host (LAPACK inside a
    program run by several XLA:CPU devices at once deadlocks now and then)."""

    def one_seed(ts):
        row_learner = learner.with_hparams(ts.hparams)
        k_rows, k_probe = jax.random.split(jax.random.PRNGKey(SRANK_KEY))
        batch = row_learner.sample_uniform(ts, k_rows, batch_size)
        return {"features": critic_features(row_learner.agent, ts.agent, batch, k_probe)}  # [K, B, D]

    features = devices.per_row(one_seed)

    def ranks(ts) -> dict:
        r = srank_host(devices.to_host(features(ts)["features"]), delta).astype(np.float64)  # [S, K]
        return {"srank": r.mean(axis=1), **{f"srank/q{i}": r[:, i] for i in range(r.shape[1])}}

    return ranks
