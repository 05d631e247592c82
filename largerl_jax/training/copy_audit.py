"""Evidence from a compiled program that it does not copy the replay buffer.

A training program updates the replay in place when XLA can order every read of the buffer
before the write that replaces it. When it cannot, it inserts a full copy of the buffer into
the step, which costs O(capacity) per env step (at one seed, a 1M-row buffer made training 3x
slower on CPU). Two signs of such a copy, both read from the optimised program without running
it (``jit(...).lower(abstract_state).compile()`` allocates nothing, so 1M-row programs can be
audited in a test):

- ``copy`` instructions whose shape is the shape of a replay array (the verdict, ``ok``);
- temporaries that grow with the capacity: ``temp_bytes`` of the same program compiled at two
  capacities must be equal (checked in tests/training/test_no_replay_copy.py). Comparing
  ``temp_bytes`` with the replay's size alone would not do: a 2048-wide network's activations
  can need more scratch than a replay array.
"""
from __future__ import annotations

import dataclasses
import math
import re

import jax
import numpy as np

# '%name = f32[1,1000000,27]{2,1,0} copy(%operand)' -> dtype, dims, opcode
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%\S+\s*=\s*(\w+)\[([\d,]*)\]\S*\s+([\w-]+)\(")


@dataclasses.dataclass(frozen=True)
class CopyAudit:
    copies: tuple[str, ...]  # HLO lines of buffer-shaped copy instructions
    temp_bytes: int  # XLA's temporary allocation for the program
    largest_replay_array_bytes: int
    replay_bytes: int

    @property
    def ok(self) -> bool:
        return not self.copies

    def summary(self) -> dict:
        return {
            "buffer_copies": len(self.copies),
            "temp_bytes": self.temp_bytes,
            "largest_replay_array_bytes": self.largest_replay_array_bytes,
            "replay_bytes": self.replay_bytes,
            "no_copy": self.ok,
        }


def _capacity_arrays(replay_tree, capacity: int) -> list:
    """The replay's arrays whose size scales with capacity (rows and priority trees), with any
    leading seed axis."""
    out = []
    for leaf in jax.tree.leaves(replay_tree):
        shape = tuple(leaf.shape)
        if any(d >= capacity for d in shape):
            out.append(leaf)
    return out


def audit_replay_copies(compiled, replay_tree, capacity: int) -> CopyAudit:
    """``compiled``: a ``jax.stages.Compiled`` program that takes the train state holding
    ``replay_tree`` (arrays or ShapeDtypeStructs) with ``capacity`` rows."""
    arrays = _capacity_arrays(replay_tree, capacity)
    if not arrays:
        raise ValueError(f"no replay array has a dimension of capacity {capacity}")
    shapes = {tuple(a.shape) for a in arrays}
    copies = []
    for line in compiled.as_text().splitlines():
        m = _INSTRUCTION.match(line)
        if m and m.group(3) == "copy":
            dims = tuple(int(d) for d in m.group(2).split(",") if d)
            if dims in shapes:
                copies.append(line.strip()[:200])
    nbytes = [math.prod(a.shape) * np.dtype(a.dtype).itemsize for a in arrays]
    memory = compiled.memory_analysis()
    return CopyAudit(
        copies=tuple(copies),
        temp_bytes=int(memory.temp_size_in_bytes),
        largest_replay_array_bytes=max(nbytes),
        replay_bytes=sum(nbytes),
    )
