"""Orbax checkpoints of the whole (seed-batched) train state plus the runner's bookkeeping.

A step counts as complete only once our marker file is in its directory, written after Orbax
has finished the step. A process killed mid-save (or mid-pruning) leaves a step without the
marker, which restore reports and discards; a marked step that fails to load is set aside if an
older one loads. So whatever moment a run is killed at, the newest complete step is restored.
Steps written before markers existed are adopted (marked) the first time a directory is opened.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import time

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from largerl_jax.training import devices

MARKER = "COMPLETE"
# Written in the checkpoint directory when it starts using markers; a directory with steps but
# without it was written before markers existed, and its (Orbax-finalized) steps are adopted.
MARKED_DIR = "USES_COMPLETE_MARKERS"
# Test hook: seconds to sleep between Orbax finishing a step and our marker, which widens the
# window in which a kill leaves a torn step (used by the kill soak test). Unset in normal use.
SLOW_WRITE_ENV = "LARGERL_CKPT_SLOW_WRITE_S"
_ORBAX_TMP = re.compile(r"^(\d+)\.orbax-checkpoint-tmp")


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


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _say(message: str) -> None:
    print(f"checkpoint: {message}", file=sys.stderr, flush=True)


class Checkpointer:
    def __init__(self, directory: str, max_to_keep: int = 2):
        if max_to_keep < 1:
            raise ValueError(f"max_to_keep must be >= 1, got {max_to_keep}")
        self.max_to_keep = max_to_keep
        # No Orbax max_to_keep: it prunes before our marker is written, so a kill right after
        # could leave no complete step. We prune ourselves once the new step is marked.
        # Under jax.distributed every process writes its shards of the (global) train state
        # and Orbax's primary process the rest; our markers and deletions are process 0's.
        self.manager = ocp.CheckpointManager(os.path.abspath(directory))
        if not os.path.exists(os.path.join(self.directory, MARKED_DIR)) and devices.is_writer():
            self._adopt_unmarked()
        devices.barrier(f"checkpoints opened {self.directory}")

    def _adopt_unmarked(self) -> None:
        steps = self.manager.all_steps()  # Orbax lists only steps it finished writing
        if steps:
            _say(f"marking steps {list(steps)}, written before completeness markers, as complete")
        for step in steps:
            self._mark(step)
        with open(os.path.join(self.directory, MARKED_DIR), "w") as f:
            f.write(f"step directories are complete once they hold a {MARKER} file\n")
        _fsync_dir(self.directory)

    @property
    def directory(self) -> str:
        return str(self.manager.directory)

    def _step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def is_complete(self, step: int) -> bool:
        return os.path.exists(os.path.join(self._step_dir(step), MARKER))

    def complete_steps(self) -> list[int]:
        # From the folder itself, not Orbax's per-process cache of it: under jax.distributed
        # every process must see the same steps to take the same (collective) deletions.
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        return sorted(int(n) for n in names if n.isdigit() and self.is_complete(int(n)))

    def latest_step(self) -> int | None:
        steps = self.complete_steps()
        return steps[-1] if steps else None

    def save(self, step: int, state, meta: dict) -> None:
        self.discard_torn()
        self.manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(_drop_empty(state)), meta=ocp.args.JsonSave(meta)),
            force=True,  # the runner decides when to save; never skip silently
        )
        self.manager.wait_until_finished()
        slow = float(os.environ.get(SLOW_WRITE_ENV) or 0)
        if slow > 0:
            time.sleep(slow)
        self._mark(step)
        stale = self.complete_steps()[: -self.max_to_keep]
        devices.barrier(f"listed {self.directory} {step}")  # before anyone unmarks one of them
        for old in stale:
            self._delete(old)

    def _mark(self, step: int) -> None:
        devices.barrier(f"saved {self.directory} {step}")  # every process's shards are written
        if devices.is_writer():
            path = os.path.join(self._step_dir(step), MARKER)
            with open(path, "w") as f:
                f.write(f"step {step} complete\n")
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(self._step_dir(step))
        devices.barrier(f"marked {self.directory} {step}")

    def _delete(self, step: int) -> None:
        # Unmark first: a kill halfway through the deletion then leaves a torn step, not a
        # complete-looking one with files missing.
        marker = os.path.join(self._step_dir(step), MARKER)
        if devices.is_writer() and os.path.exists(marker):
            os.remove(marker)
            _fsync_dir(self._step_dir(step))
        devices.barrier(f"unmarked {self.directory} {step}")
        if devices.multi_process():
            self.manager.reload()
            # Reload reads every listed step's metadata from disk: a process still reading
            # must not see Orbax's primary process delete the step under it (CI saw process 1
            # fail with "Path is not a directory: .../checkpoints/400").
            devices.barrier(f"reloaded {self.directory} {step}")
        self.manager.delete(step)  # collective under jax.distributed

    def discard_torn(self) -> list[int]:
        """Deletes, with a message each, steps whose write never finished: Orbax temporary
        directories and step directories without our marker. Returns their steps."""
        # Every process lists the same folder before anyone changes it, so that all of them
        # take the same (collective) deletions.
        devices.barrier(f"discarding torn {self.directory}")
        names = sorted(os.listdir(self.directory))
        temporary = [(name, int(m.group(1))) for name in names if (m := _ORBAX_TMP.match(name))]
        unmarked = [int(n) for n in names if n.isdigit() and not self.is_complete(int(n))]
        devices.barrier(f"listed torn {self.directory}")
        for name, step in temporary:
            if devices.is_writer():
                _say(f"skipping torn step {step}: its write was interrupted (Orbax temporary directory {name})")
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        for step in unmarked:
            if devices.is_writer():
                _say(f"skipping torn step {step}: no {MARKER} marker (killed while saving or pruning it)")
            self.manager.delete(step)  # collective under jax.distributed
        if temporary or unmarked:
            self.manager.reload()
        return sorted([s for _, s in temporary] + unmarked)

    def restore(self, abstract_state, step: int | None = None):
        """The train state and meta of ``step``, or of the newest complete step that loads."""
        if step is not None:
            return self._load(abstract_state, step)
        self.discard_torn()
        failed = []
        for candidate in reversed(self.complete_steps()):
            try:
                out = self._load(abstract_state, candidate)
            except Exception as e:  # any failure to read means this step is unusable
                reason = (str(e).strip().splitlines() or [""])[0][:200]
                _say(f"skipping step {candidate}: it does not load ({type(e).__name__}: {reason})")
                failed.append(candidate)
                continue
            # An older step loads, so the newer ones are damaged rather than of another layout:
            # move them away so that later saves of those steps do not collide with them.
            for bad in failed:
                self._set_aside(bad)
            _say(f"resuming from step {candidate}")
            return out
        if failed:
            raise RuntimeError(
                f"no checkpoint under {self.directory} loads (tried steps {failed}); they are left in place"
            )
        raise FileNotFoundError(f"no complete checkpoint under {self.directory}")

    def latest_meta(self) -> dict | None:
        """The runner's bookkeeping of the newest complete step (None: no complete step), read
        without the train state: a run that shrank its networks needs it to know the shapes."""
        for step in reversed(self.complete_steps()):
            try:
                return self.meta_at(step)
            except Exception as e:  # unreadable: the full restore will report and skip it
                _say(f"step {step}: its metadata does not load ({type(e).__name__})")
        return None

    def meta_at(self, step: int) -> dict:
        """The runner's bookkeeping of ``step``, without the train state."""
        return self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

    def _load(self, abstract_state, step: int):
        # Orbax records the writer's device layout; a reader on another topology (a run
        # trained over several processes, read by one) must name its own.
        target = jax.tree.map(
            lambda a: a if a.sharding is not None else jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=devices.replicated()),
            _drop_empty(abstract_state),
        )
        restored = self.manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore())
        )
        return _refill_empty(abstract_state, restored.state), restored.meta

    def _set_aside(self, step: int) -> None:
        dest = os.path.join(self.directory, f"damaged_{step}_{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(self._step_dir(step), dest)
        self.manager.reload()
        _say(f"moved damaged step {step} to {dest}")

    def close(self) -> None:
        self.manager.close()
