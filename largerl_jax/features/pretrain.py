"""OFENet pre-training on the random-action warm-up data, before the first agent update
(Ota et al. 2020: 10,000 random steps, then 10,000 OFENet updates), as one compiled scan."""
from __future__ import annotations

import jax

from largerl_jax.features.state import OFEState
from largerl_jax.features.update import ofenet_update
from largerl_jax.replay import ReplayBuffer, sample


def pretrain_ofenet(
    cfg, state: OFEState, buffer: ReplayBuffer, key: jax.Array, num_updates: int | None = None
) -> tuple[OFEState, dict]:
    """``num_updates`` (static; default cfg.pretrain_updates) updates on uniform minibatches of
    cfg.batch_size. Metrics come back per update (leading axis num_updates) for loss curves."""
    n = cfg.pretrain_updates if num_updates is None else int(num_updates)

    def body(s, k):
        return ofenet_update(cfg, s, sample(buffer, k, cfg.batch_size))

    return jax.lax.scan(body, state, jax.random.split(key, n))
