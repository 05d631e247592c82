"""Per-layer parameter counts of a network, in the layout of Ota et al. 2021, Table 2.

Counting convention:

* Default (``bn_convention='trainable'``): trainable parameters only, i.e. everything in
  'params': Dense kernel + bias, and LayerNorm / BatchNorm scale + bias. Spectral-norm vectors
  u and batch-norm running statistics are carried state and are not counted.
* ``bn_convention='paper'``: a BatchNorm counts 4 numbers per unit (scale, bias, running mean,
  running variance) as Table 2 of Ota et al. does for OFENet (111 -> 256 with BN: 29,696). The
  running statistics are read from ``variables['batch_stats']``, so pass the full variables.

One row per Dense layer, ordered from input to output. A normalization named ``<dense>_norm``
next to Dense ``<dense>`` (the convention of layers.py) is counted in that Dense's row and
reported in its ``norm`` field: the BatchNorm after a hidden Dense, or the pre-LayerNorm
before a 'modern' block's 'up' Dense. Any other normalization (the 'modern' torso's 'final_norm') gets its own row of kind 'norm',
a densenet layer's diagonal pass-through ('hidden_<i>_pass') a row of kind 'passthrough',
and parameters of no recognised layer a row of kind 'other', so rows always add up to the
total. Counts are per ensemble member; rows of a vmapped ensemble (kernel [K, in, out]) carry
``ensemble: K`` and ``total_params`` multiplies by it.

Works on concrete arrays and on ``jax.eval_shape`` output alike (only shapes are read).
"""
from __future__ import annotations

import math
import re

from flax import traverse_util
from flax.core import unfreeze

BN_CONVENTIONS = ("trainable", "paper")
_NORM_LEAVES = {"scale", "bias"}

# JAX transforms (jit, the nn.vmap of QNetwork) return dicts with sorted keys, so storage order
# is not creation order. Rows are instead sorted input -> output: these names are ranked
# explicitly, every other name sits in the middle, ties go by name then numeric suffix
# (hidden_2 before hidden_10).
_NAME_RANK = {"proj": 0, "torso": 0, "up_norm": 0, "input_renorm": 0, "up": 1, "down": 2, "final_norm": 3, "out": 3}
_INDEXED = re.compile(r"^(.*)_(\d+)$")


def _order_key(path: tuple) -> tuple:
    key = []
    for name in path:
        match = _INDEXED.match(name)
        base, index = (match.group(1), int(match.group(2))) if match else (name, -1)
        key.append((_NAME_RANK.get(name, 1), base, index))
    return tuple(key)


def _size(leaf) -> int:
    return math.prod(leaf.shape)


def _flat(tree) -> dict:
    return traverse_util.flatten_dict(unfreeze(tree)) if tree else {}


def _group_by_module(flat: dict) -> dict:
    modules: dict = {}
    for path, leaf in flat.items():
        modules.setdefault(path[:-1], {})[path[-1]] = leaf
    return modules


def _kind(leaves: dict) -> str:
    if "kernel" in leaves:
        return "dense"
    if set(leaves) <= _NORM_LEAVES and "scale" in leaves:
        return "norm"
    return "other"


def _norm_owner(path: tuple, modules: dict):
    name = path[-1]
    if not name.endswith("_norm"):
        return None
    owner = path[:-1] + (name[: -len("_norm")],)
    return owner if owner in modules and _kind(modules[owner]) == "dense" else None


def param_table(variables, bn_convention: str = "trainable") -> list[dict]:
    """Rows ``{"name", "kind", "in", "out", "params", "norm", "sn"[, "ensemble"]}`` from input
    to output. ``norm`` is None, 'batch' or 'layer' (the normalization counted in the row);
    ``sn`` says whether the layer has a spectral-norm vector; ``in``/``out`` are None for
    'other' rows."""
    if bn_convention not in BN_CONVENTIONS:
        raise ValueError(f"bn_convention must be one of {list(BN_CONVENTIONS)}, got {bn_convention!r}")
    modules = _group_by_module(_flat(variables["params"]))
    stats = _group_by_module(_flat(variables.get("batch_stats")))
    spectral = _group_by_module(_flat(variables.get("spectral")))
    owned = {path: owner for path in modules if (owner := _norm_owner(path, modules))}
    norms_of = {owner: path for path, owner in owned.items()}

    def norm_count(path, ensemble) -> tuple[int, str]:
        count = sum(_size(leaf) for leaf in modules[path].values())
        if path in stats and bn_convention == "paper":
            count += sum(_size(leaf) for leaf in stats[path].values())
        return count // ensemble, ("batch" if path in stats else "layer")

    rows = []
    for path, leaves in sorted(modules.items(), key=lambda item: _order_key(item[0])):
        if path in owned:
            continue
        kind = "passthrough" if path[-1].endswith("_pass") else _kind(leaves)
        if kind == "dense":
            shape = leaves["kernel"].shape
            ensemble = shape[0] if len(shape) == 3 else 1
            count = sum(map(_size, leaves.values())) // ensemble
            row = {"in": shape[-2], "out": shape[-1], "params": count, "norm": None}
            if path in norms_of:
                extra, row["norm"] = norm_count(norms_of[path], ensemble)
                row["params"] += extra
        elif kind == "passthrough":  # a densenet layer's diagonal pass-through D (one weight per input)
            ensemble = leaves["scale"].shape[0] if leaves["scale"].ndim == 2 else 1
            row = {"in": leaves["scale"].shape[-1], "out": leaves["scale"].shape[-1], "params": _size(leaves["scale"]) // ensemble, "norm": None}
        elif kind == "norm":
            shape = leaves["scale"].shape
            ensemble = shape[0] if len(shape) == 2 else 1
            count, norm = norm_count(path, ensemble)
            row = {"in": shape[-1], "out": shape[-1], "params": count, "norm": norm}
        else:
            ensemble = 1
            row = {"in": None, "out": None, "params": sum(map(_size, leaves.values())), "norm": None}
        row = {"name": "/".join(path), "kind": kind, **row, "sn": path in spectral}
        if ensemble > 1:
            row["ensemble"] = ensemble
        rows.append(row)
    return rows


def total_params(variables, bn_convention: str = "trainable") -> int:
    return sum(row["params"] * row.get("ensemble", 1) for row in param_table(variables, bn_convention))


def format_param_table(rows: list[dict]) -> str:
    """Plain-text table for logs and reports."""
    lines = [f"{'layer':<40} {'in':>8} {'out':>8} {'params':>12}  notes"]
    for r in rows:
        norm = r["norm"] and (f"{r['norm']}norm" if r["kind"] == "norm" else f"+{r['norm']}norm")
        notes = " ".join(n for n in (norm, r["sn"] and "SN", "ensemble" in r and f"x{r['ensemble']}") if n)
        dims = ("" if r["in"] is None else r["in"], "" if r["out"] is None else r["out"])
        lines.append(f"{r['name']:<40} {dims[0]:>8} {dims[1]:>8} {r['params']:>12,}  {notes}")
    return "\n".join(lines)
