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
from largerl_jax.replay.prioritized import (
    PrioritizedBuffer,
    init_prioritized,
    insert_prioritized,
    linear_schedule,
    prioritized_buffer_nbytes,
    sample_prioritized,
    sample_prioritized_indices,
    update_priorities,
)

__all__ = [
    "PrioritizedBuffer",
    "ReplayBuffer",
    "Transition",
    "bytes_per_transition",
    "gather",
    "init_buffer",
    "init_prioritized",
    "insert",
    "insert_prioritized",
    "linear_schedule",
    "prioritized_buffer_nbytes",
    "sample",
    "sample_indices",
    "sample_prioritized",
    "sample_prioritized_indices",
    "update_priorities",
]
