"""Where a seed-batch's rows live: split over every device of the job (all local devices, and
under jax.distributed the devices of every process), and how the host reads them back.

Rows (seeds, and grid points x seeds) never interact, so a row-sharded program needs no
collective inside training. Under jax.distributed every process runs the same programs on its
share of the rows (SPMD, lockstep) and reads whole arrays through an all-gather; process 0
alone writes the run folders' files, while Orbax checkpoints are written by all together.
"""
from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils

AXIS = "seeds"


def multi_process() -> bool:
    return jax.process_count() > 1


def is_writer() -> bool:
    """Whether this process writes the run folders' files (metrics, config, TensorBoard)."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    if multi_process():
        multihost_utils.sync_global_devices(name)


def mesh() -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(jax.devices()), (AXIS,))


def check_rows(rows: int, what: str) -> None:
    count = len(jax.devices())
    if count > 1 and rows % count:
        raise ValueError(f"{what} must be a multiple of the {count} devices: rows are split evenly over the devices")


def rows_sharding():
    return jax.sharding.NamedSharding(mesh(), jax.sharding.PartitionSpec(AXIS))


def replicated():
    return jax.sharding.NamedSharding(mesh(), jax.sharding.PartitionSpec())


def put_rows(tree):
    """``tree``'s leading axis split over every device (unchanged with one device). Host values
    must be the same in every process (they are: every process builds the same keys)."""
    if len(jax.devices()) == 1:
        return tree
    return jax.device_put(tree, rows_sharding())


def to_host(x) -> np.ndarray:
    """A whole array on the host, gathered from every process when it spans several."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def per_row(fn):
    """``jit(vmap(fn))`` over the rows, each device computing only its own rows (shard_map), so
    no collective is ever inserted: XLA:CPU's partitioner gathers an SVD's batch to one device
    and stalls on virtual devices, where a per-shard program has nothing to exchange."""
    batched = jax.vmap(fn)
    if len(jax.devices()) == 1:
        return jax.jit(batched)
    spec = jax.sharding.PartitionSpec(AXIS)
    return jax.jit(jax.shard_map(batched, mesh=mesh(), in_specs=spec, out_specs=spec))
