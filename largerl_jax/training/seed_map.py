"""``seed_map(fn)``: ``jax.vmap(fn)`` over the leading seed axis, except that a batch of one seed
runs ``fn`` itself on the squeezed arguments.

Why: XLA:CPU runs a vmapped network update of batch 1 much slower than the same update unbatched
(the vmap turns every dot into a batched dot of batch 1, which misses the fast matmul path). On
the 2-core dev VM (2026-12-06, ``benchmarks.update_profile``): CrossQ's update with 2 x 1024
critics, 42.6 ms plain against 88.5 ms vmapped over one seed; SimBa's 12% slower. One-seed runs
are what a user times against another library, so they take the plain program.

The results are the same computation either way; only the compiled program differs, so they may
differ in the last bits where XLA fuses or orders sums differently, and a long run's curve
drifts apart from the vmapped program's (as it would between two XLA versions). The run key
``one_seed_unbatched`` (default True) turns it off, for comparing with a record of the vmapped
program (tests/golden's one-seed case pins it off).
"""
from __future__ import annotations

from typing import Callable

import jax


def seed_map(fn: Callable, unbatch_one: bool = True) -> Callable:
    """``jax.vmap(fn)`` over the leading seed axis of every argument, or for one seed ``fn`` on
    the arguments with that axis dropped (unless ``unbatch_one`` is off: the run key
    ``one_seed_unbatched``)."""
    batched = jax.vmap(fn)
    if not unbatch_one:
        return batched

    def call(*args):
        if {x.shape[0] for x in jax.tree.leaves(args)} != {1}:
            return batched(*args)
        return jax.tree.map(lambda x: x[None], fn(*jax.tree.map(lambda x: x[0], args)))

    return call
