"""The building blocks of compaction plans (see ``compact``), shared by the architectures'
``plan`` functions: which axis of which variable keeps which indices.

A take is (axis counted from the end, kept indices [..., k], the axis's size before compaction);
leading axes of the indices are member axes (a Q ensemble's [num_q, k])."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from largerl_jax.networks.layers import torso_layer_uses_sn

Path = tuple[str, ...]
Take = tuple[int, np.ndarray, int]


def cat(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate index arrays along the unit axis, broadcasting their member axes."""
    lead = np.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return np.concatenate([np.broadcast_to(p, lead + p.shape[-1:]) for p in parts], axis=-1)


def removes(take: Optional[tuple[np.ndarray, int]]) -> bool:
    return take is not None and take[0].shape[-1] < take[1]


def dense_takes(path: Path, rows, cols, *, sn: bool, norm: bool) -> dict[Path, tuple[Take, ...]]:
    """Takes of one Dense (and of its '<name>_norm' batch norm) whose input keeps ``rows`` and
    output keeps ``cols``, each (indices, old size) or None."""
    if sn and (removes(rows) or removes(cols)):
        raise ValueError(
            f"cannot compact spectrally normalized layer {'/'.join(path)}: removing its rows or "
            "columns changes its largest singular value and so the network's function"
        )
    kernel = ((-2,) + rows,) if rows is not None else ()
    if cols is None:
        return {path + ("kernel",): kernel} if kernel else {}
    col = ((-1,) + cols,)
    takes = {path + ("kernel",): kernel + col, path + ("bias",): col}
    if sn:  # u lives in the output space; only ever permuted here (removal refused above)
        takes[path + ("u",)] = col
    if norm:
        norm_path = path[:-1] + (path[-1] + "_norm",)
        takes.update({norm_path + (leaf,): col for leaf in ("scale", "bias", "mean", "var")})
    return takes


def hidden_takes(cfg, row_plan: Callable, widths, keeps, at) -> dict[Path, tuple[Take, ...]]:
    """Layers built by ``layers.hidden_layer`` ('hidden_<i>'): layer i reads ``row_plan(i)``
    and writes K_i."""
    takes = {}
    for i, (n, k) in enumerate(zip(widths, keeps)):
        sn = torso_layer_uses_sn(cfg, is_first=i == 0)
        takes.update(dense_takes(at((f"hidden_{i}",)), row_plan(i), (k, n), sn=sn, norm=cfg.batch_norm))
    return takes
