from largerl_jax.replay.buffer import (
    ReplayBuffer,
    Transition,
    bytes_per_transition,
    gather,
    init_buffer,
    insert,
    sample,
    sample_indices,
)

__all__ = [
    "ReplayBuffer",
    "Transition",
    "bytes_per_transition",
    "gather",
    "init_buffer",
    "insert",
    "sample",
    "sample_indices",
]
