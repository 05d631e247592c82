"""Memory a run's train state will take, computed from abstract shapes before anything is
allocated, and a clear refusal when it cannot fit."""
from __future__ import annotations

import math
import os

import jax
import numpy as np

GiB = 2**30


def _nbytes(leaf) -> int:
    return math.prod(leaf.shape) * np.dtype(leaf.dtype).itemsize


def state_bytes(abstract_state) -> dict[str, int]:
    """Bytes of a (seed-batched) train state by part: replay, parameters (online and target),
    optimizer states, other agent state (spectral vectors, batch-norm statistics, counters),
    env state and the rest."""
    parts = {"replay": 0, "parameters": 0, "optimizer": 0, "agent_other": 0, "env": 0, "other": 0}
    for path, leaf in jax.tree_util.tree_flatten_with_path(abstract_state)[0]:
        keys = jax.tree_util.keystr(path)
        n = _nbytes(leaf)
        if keys.startswith(".replay"):
            parts["replay"] += n
        elif keys.startswith(".agent"):
            if "opt_state" in keys:
                parts["optimizer"] += n
            elif "params" in keys:
                parts["parameters"] += n
            else:
                parts["agent_other"] += n
        elif keys.startswith(".env"):
            parts["env"] += n
        else:
            parts["other"] += n
    parts["total"] = sum(parts.values())
    return parts


def device_limit_bytes(device=None) -> tuple[int | None, str]:
    """(bytes the device can hold, what that is): the allocator's limit on accelerators, the
    machine's physical memory on CPU."""
    device = device or jax.local_devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]), f"{device.device_kind} memory"
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "host RAM"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def _fmt(n: int) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / 2**20:.1f} MiB"


def memory_report(abstract_state, num_seeds: int, rows: int, row_bytes: int) -> tuple[str, dict]:
    """A printable estimate and its figures. ``rows``/``row_bytes``: replay rows per seed and
    the bytes of one row (replay.bytes_per_transition)."""
    parts = state_bytes(abstract_state)
    on_device = parts["total"]  # the whole train state, replay included, lives on the device
    limit, what = device_limit_bytes()
    per_seed = {k: v // num_seeds for k, v in parts.items()}
    text = (
        f"memory estimate (train state, before allocation), per seed: replay {_fmt(per_seed['replay'])} "
        f"({rows:,} rows x {row_bytes} B), "
        f"parameters {_fmt(per_seed['parameters'])}, optimizer {_fmt(per_seed['optimizer'])}, "
        f"env {_fmt(per_seed['env'])}, other {_fmt(per_seed['agent_other'] + per_seed['other'])}; "
        f"{num_seeds} seed(s): {_fmt(on_device)} on the device"
        + (f" (of {_fmt(limit)} {what})" if limit else "")
        + "; compiled programs add their temporaries"
    )
    return text, {**parts, "on_device": on_device, "limit": limit, "limit_kind": what}


def check_fits(figures: dict) -> None:
    """Raises MemoryError when the train state alone exceeds the device's memory."""
    limit = figures["limit"]
    if limit and figures["on_device"] > limit:
        raise MemoryError(
            f"the train state needs {_fmt(figures['on_device'])} of device memory but the device has "
            f"{_fmt(limit)} ({figures['limit_kind']}): run fewer seeds (--seeds) or lower "
            "--config.replay_capacity"
        )
