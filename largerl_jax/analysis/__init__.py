"""Analyses of trained agents, above the agents and below training: the effective rank of a
critic's features (srank) and critic loss landscapes (landscape)."""
from largerl_jax.analysis.landscape import (
    filter_normalized_direction,
    frozen_td_loss,
    grid,
    loss_surface,
    two_directions,
)
from largerl_jax.analysis.srank import critic_features, critic_srank, srank, srank_host

__all__ = [
    "critic_features",
    "critic_srank",
    "filter_normalized_direction",
    "frozen_td_loss",
    "grid",
    "loss_surface",
    "srank",
    "srank_host",
    "two_directions",
]
