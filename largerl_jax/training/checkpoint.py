"""Orbax checkpoints of the whole (seed-batched) train state plus the runner's bookkeeping."""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp


# Orbax refuses zero-size arrays, and env states hold some (e.g. Brax's actuator activations of
# a model without activation dynamics). They carry no data, so they are left out of the saved
# tree and rebuilt from the abstract state's shapes on restore.
def _drop_empty(tree):
    return jax.tree.map(lambda x: None if x.size == 0 else x, tree)


def _refill_empty(abstract, restored):
    leaves, treedef = jax.tree.flatten(abstract)
    kept = iter(jax.tree.leaves(restored))
    filled = [jnp.zeros(a.shape, a.dtype) if a.size == 0 else next(kept) for a in leaves]
    return jax.tree.unflatten(treedef, filled)


class Checkpointer:
    def __init__(self, directory: str, max_to_keep: int = 2):
        self.manager = ocp.CheckpointManager(
            os.path.abspath(directory), options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep)
        )

    def save(self, step: int, state, meta: dict) -> None:
        self.manager.save(
            step, args=ocp.args.Composite(state=ocp.args.StandardSave(_drop_empty(state)), meta=ocp.args.JsonSave(meta))
        )
        # Block so that a run killed right after 'saved' never leaves a half-written checkpoint.
        self.manager.wait_until_finished()

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def restore(self, abstract_state, step: int | None = None):
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint under {self.manager.directory}")
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(_drop_empty(abstract_state)), meta=ocp.args.JsonRestore()),
        )
        return _refill_empty(abstract_state, restored.state), restored.meta

    def close(self) -> None:
        self.manager.close()
