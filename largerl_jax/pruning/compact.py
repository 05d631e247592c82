"""Physical shrinking of pruned networks: remove dead hidden units from the weights.

Pruning gates only multiply a unit's post-activation output by 0, so a pruned network costs
as much as a dense one. Once units are dead for good, removing them (columns of the Dense that
computes them, their batch-norm entries, and the rows of every Dense that reads them) gives a
smaller network, rebuilt from a torso config whose ``widths`` are the kept counts. In
evaluation mode (each unit scaled by its pi) it computes the same function. In training mode it
computes the same function in distribution only: the Bernoulli gate draws come from the same
key over a pi of another shape, so the live units draw other samples than the masked network's
would, and a run is not bit-identical to the unshrunk one from the shrink on.

Everything here is plain numpy/JAX indexing on concrete arrays, run outside jit:

* ``alive_to_keep`` turns boolean alive masks into kept-unit indices;
* ``compaction_plan`` says, per variable leaf path, which axis keeps which indices;
* ``apply_plan`` applies a plan to any pytree that mirrors (part of) the variables: params,
  'batch_stats', 'spectral', optax states whose moments mirror params;
* ``compact_masks`` gives the masks of the compacted network.

Keep indices may carry leading member axes ([num_q, k]) so that each member of a Q ensemble
keeps its own units. One compacted module must give every member the same width, so all
members keep the same count k and those with fewer alive units keep some dead ones, padding
that stays masked off. Indices count axes from the end, so a leaf's leading member axis
needs no special case.

Each architecture declares its plan (``Arch.plan``, in its module under ``networks/archs/``).
An architecture whose layers share one stream (``Arch.shared_stream``: resnet) can lose a unit
only when it is dead in every layer: all layers keep the union of the K_i, and a unit kept for
the union in a layer that did not keep it gets mask 0 there from ``compact_masks``.

Spectral normalization divides a kernel by its largest singular value, which changes when
rows or columns go, so the compacted network would compute another function. A plan that
removes anything from a spectrally normalized layer is refused.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.networks.arch import get_arch
from largerl_jax.networks.compact_takes import Path, Take, dense_takes, removes
from largerl_jax.networks.config import torso_config
from largerl_jax.networks.layers import output_uses_sn
from largerl_jax.networks.widths import layer_widths, torso_out_dim


@dataclasses.dataclass(frozen=True)
class CompactionPlan:
    """What ``compaction_plan`` decided; read by ``apply_plan`` and ``compact_masks``.

    ``takes``: leaf path (e.g. ('torso', 'hidden_1', 'kernel')) -> its Takes.
    ``cfg``: the compacted torso config. ``in_keep``: the kept input features, i.e. which
    columns of the old input the compacted network reads. ``out_keep``: the kept torso output
    features, the ``in_keep`` of a network fed with this torso's features.
    ``layer_keep``: the indices each maskable layer keeps (with a shared stream, the union).
    ``layer_owned``: per layer, whether each kept slot was kept by that layer itself (only
    False in a shared stream's union); None when all are.
    ``changed``: module paths that lose something (checked against spectral-norm state)."""

    cfg: Any
    takes: dict[Path, tuple[Take, ...]]
    in_keep: np.ndarray
    out_keep: np.ndarray
    layer_keep: tuple[np.ndarray, ...]
    layer_owned: Optional[tuple[np.ndarray, ...]]
    changed: frozenset


# ---------------------------------------------------------------------------------------------
# Keep indices from alive masks.


def alive_to_keep(alive, min_keep: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Boolean alive mask [..., n] -> (keep [..., k], new_alive [..., k]).

    k is the largest alive count over the leading (member) axes, and at least ``min_keep`` so
    no layer vanishes. Members with fewer alive units are padded with their lowest dead ones;
    indices stay in ascending order. ``new_alive`` is the alive mask of the compacted layer
    (False on the padding). With a shared stream use ``compact_masks`` instead, which sees the union."""
    alive = np.asarray(alive, dtype=bool)
    n = alive.shape[-1]
    if not 1 <= min_keep <= n:
        raise ValueError(f"min_keep must be in [1, {n}], got {min_keep}")
    rows = alive.reshape(-1, n)
    k = max(min_keep, int(rows.sum(axis=-1).max(initial=0)))
    keep = np.empty((rows.shape[0], k), np.int32)
    for r, row in enumerate(rows):
        live, dead = np.flatnonzero(row), np.flatnonzero(~row)
        keep[r] = np.sort(np.concatenate([live, dead[: k - live.size]]))
    keep = keep.reshape(alive.shape[:-1] + (k,))
    return keep, np.take_along_axis(alive, keep, axis=-1)


# ---------------------------------------------------------------------------------------------
# Plan building.


def compacted_torso_config(cfg, widths: Sequence[int]):
    """A copy of ``cfg`` with per-layer ``widths`` (inner widths for 'modern')."""
    fields = {name: cfg[name] for name in cfg.keys()}
    fields["widths"] = tuple(int(w) for w in widths)
    return torso_config(**fields)


def _check_keep(what: str, idx, n: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim < 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{what}: keep indices must be an integer array [..., k], got {idx.dtype} {idx.shape}")
    if not 1 <= idx.shape[-1] <= n:
        raise ValueError(f"{what}: must keep between 1 and {n} units, got {idx.shape[-1]}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"{what}: keep indices must lie in [0, {n}), got [{idx.min()}, {idx.max()}]")
    if idx.shape[-1] > 1 and (np.diff(np.sort(idx, axis=-1), axis=-1) == 0).any():
        raise ValueError(f"{what}: keep indices repeat a unit")
    return idx.astype(np.int32)


def _union(keeps: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Shared stream (resnet): per member the union of the layers' kept units, padded to one
    count, and per layer whether each union slot was its own."""
    def member_of(idx):
        hot = np.zeros(idx.shape[:-1] + (n,), bool)
        np.put_along_axis(hot, idx, True, axis=-1)
        return hot

    hots = [member_of(k) for k in keeps]
    lead = np.broadcast_shapes(*(h.shape[:-1] for h in hots))
    hots = [np.broadcast_to(h, lead + (n,)) for h in hots]
    union, _ = alive_to_keep(np.logical_or.reduce(hots))
    return union, tuple(np.take_along_axis(h, union, axis=-1) for h in hots)


def _changed(takes: dict[Path, tuple[Take, ...]]) -> frozenset:
    return frozenset(path[:-1] for path, entries in takes.items() if any(removes(t[1:]) for t in entries))


def compaction_plan(
    cfg,
    in_dim: int,
    keep: Sequence[Optional[Any]],
    in_keep: Optional[Any] = None,
    *,
    torso_path: Path = ("torso",),
    out_path: Optional[Path] = ("out",),
) -> CompactionPlan:
    """Plan for removing every unit not in ``keep`` from a torso (and its head's output layer).

    ``keep[i]``: indices [..., k_i] that maskable layer i keeps (``layer_widths`` order), None
    for all; leading axes are member axes (a Q ensemble's [num_q, k_i]). ``in_keep``: input
    features the compacted network still reads (None: all), e.g. another torso's
    ``out_keep``; the caller feeds it ``x[..., in_keep]``. ``torso_path``: where the torso's
    variables sit (() for a bare Torso); ``out_path``: the Dense reading the torso's features
    (None: none). Raises ValueError when a spectrally normalized layer would lose anything."""
    widths = layer_widths(cfg, in_dim)
    if len(keep) != len(widths):
        raise ValueError(f"keep must have {len(widths)} entries (one per maskable layer), got {len(keep)}")
    keeps = [
        np.arange(n, dtype=np.int32) if k is None else _check_keep(f"layer {i}", k, n)
        for i, (k, n) in enumerate(zip(keep, widths))
    ]
    in_keep = np.arange(in_dim, dtype=np.int32) if in_keep is None else _check_keep("input", in_keep, in_dim)
    owned = None
    arch = get_arch(cfg.arch)
    if arch.shared_stream:
        union, owned = _union(keeps, widths[0])
        keeps = [union] * len(widths)

    takes, out_keep = arch.plan(cfg, in_dim, widths, keeps, in_keep, lambda name: tuple(torso_path) + name)
    if out_path is not None:
        out_rows = (out_keep, torso_out_dim(cfg, in_dim))
        takes.update(dense_takes(tuple(out_path), out_rows, None, sn=output_uses_sn(cfg), norm=False))
    new_cfg = compacted_torso_config(cfg, [k.shape[-1] for k in keeps])
    return CompactionPlan(
        cfg=new_cfg,
        takes=takes,
        in_keep=in_keep,
        out_keep=out_keep,
        layer_keep=tuple(keeps),
        layer_owned=owned,
        changed=_changed(takes),
    )


# ---------------------------------------------------------------------------------------------
# Applying a plan.


def _take(x, axis: int, idx: np.ndarray, what: str):
    """x with only ``idx`` kept along ``axis`` (from the end); idx's leading axes index x's.

    Indexes in numpy even for JAX arrays: eager JAX would compile one program per leaf shape,
    which costs far more than the copy to the host and back for a one-off compaction."""
    pos = x.ndim + axis
    lead = idx.ndim - 1
    if pos < 0 or lead > pos:
        raise ValueError(f"{what}: shape {x.shape} has too few axes for keep indices {idx.shape}")
    if lead and x.shape[:lead] != idx.shape[:-1]:
        raise ValueError(f"{what}: leading axes {x.shape[:lead]} do not match keep indices {idx.shape}")
    host = np.asarray(x)
    if lead == 0:
        out = np.take(host, idx, axis=pos)
    else:
        shape = idx.shape[:-1] + (1,) * (pos - lead) + idx.shape[-1:] + (1,) * (x.ndim - pos - 1)
        out = np.take_along_axis(host, idx.reshape(shape), axis=pos)
    return out if isinstance(x, np.ndarray) else jnp.asarray(out)


def _key_name(key) -> Any:
    for attr in ("key", "name", "idx"):  # DictKey / FlattenedIndexKey, GetAttrKey, SequenceKey
        if hasattr(key, attr):
            return getattr(key, attr)
    return key


def _find(takes: dict[Path, tuple[Take, ...]], lengths: Sequence[int], names: tuple):
    for n in lengths:
        if n <= len(names) and (entries := takes.get(names[len(names) - n:])) is not None:
            return entries
    return None


def _spectral_of_changed(plan: CompactionPlan, names: tuple) -> Optional[tuple]:
    if names[-1:] != ("u",) and "spectral" not in names:
        return None
    module = names[:-1]
    return next((m for m in plan.changed if m and module[len(module) - len(m):] == m), None)


def apply_plan(plan: CompactionPlan, tree):
    """``tree`` with every leaf the plan mentions compacted; others unchanged.

    Leaves are matched by the end of their path, so a plan built for a head applies to its
    params, to ``{'params': ..., 'batch_stats': ..., 'spectral': ...}``, to an optax state
    whose moments mirror the params (Adam's ``count`` passes through), and inside a Q
    ensemble's 'ensemble' scope. Apply it to one network's tree at a time: two heads in one
    tree would both match. A leaf whose axis does not have its planned old size raises, so a
    plan cannot be applied twice or to another network."""
    lengths = sorted({len(p) for p in plan.takes}, reverse=True)

    def compact(path, leaf):
        names = tuple(_key_name(k) for k in path)
        if (module := _spectral_of_changed(plan, names)) is not None:
            raise ValueError(
                f"cannot compact spectrally normalized layer {'/'.join(module)}: it has a 'spectral' "
                "u and the plan removes some of its rows or columns"
            )
        entries = _find(plan.takes, lengths, names)
        if entries is None:
            return leaf
        what = "/".join(map(str, names))
        for axis, idx, size in entries:
            if leaf.ndim < -axis or leaf.shape[axis] != size:
                raise ValueError(f"{what}: expected size {size} on axis {axis}, got shape {leaf.shape}")
            leaf = _take(leaf, axis, idx, what)
        return leaf

    return jax.tree_util.tree_map_with_path(compact, tree)


def compact_masks(plan: CompactionPlan, masks: Sequence[Optional[Any]]) -> list:
    """Masks (one per maskable layer, [..., n_i], float or bool; None passes) of the old network
    -> the masks of the compacted one. In a shared stream, a union slot that a layer did not keep
    itself is masked off in that layer."""
    if len(masks) != len(plan.layer_keep):
        raise ValueError(f"masks must have {len(plan.layer_keep)} entries, got {len(masks)}")
    out = []
    for i, (mask, idx) in enumerate(zip(masks, plan.layer_keep)):
        if mask is None:
            out.append(None)
            continue
        new = _take(mask, -1, idx, f"mask {i}")
        if plan.layer_owned is not None:
            owned = plan.layer_owned[i]
            # owned is [..members, k]; the mask may have batch axes between members and units.
            owned = owned.reshape(owned.shape[:-1] + (1,) * (new.ndim - owned.ndim) + owned.shape[-1:])
            kept = np.logical_and(new, owned) if new.dtype == bool else np.asarray(new) * owned.astype(new.dtype)
            new = kept if isinstance(new, np.ndarray) else jnp.asarray(kept)
        out.append(new)
    return out
