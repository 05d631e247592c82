"""Analyses of trained agents, above the agents and below training: the effective rank of a
critic's features (srank) and critic loss landscapes (landscape)."""
from largerl_jax.analysis.landscape import (
    filter_normalized_direction,
    frozen_td_loss,
    grid,
    loss_surface,
    two_directions,
)
from largerl_jax.analysis.srank import critic_srank, srank

__all__ = [
    "critic_srank",
    "filter_normalized_direction",
    "frozen_td_loss",
    "grid",
    "loss_surface",
    "srank",
    "two_directions",
]
