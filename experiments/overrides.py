"""``--config.KEY=VALUE`` overrides on an ml_collections ConfigDict, with errors that say what
exists and what type was expected."""
from __future__ import annotations

import ast

import ml_collections


def parse_value(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare string such as a network architecture name


def apply_override(cfg: ml_collections.ConfigDict, dotted_key: str, text: str) -> None:
    parts = dotted_key.split(".")
    node = cfg
    for depth, part in enumerate(parts):
        path = ".".join(parts[: depth + 1])
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            keys = sorted(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
            where = ".".join(parts[:depth]) or "config"
            raise ValueError(f"unknown config key {path!r}; keys under {where!r}: {', '.join(keys)}")
        if depth < len(parts) - 1:
            node = node[part]
    leaf = parts[-1]
    if isinstance(node[leaf], ml_collections.ConfigDict):
        raise ValueError(f"{dotted_key!r} is a group; set one of its keys: {', '.join(sorted(node[leaf].keys()))}")
    value = parse_value(text)
    old = node[leaf]
    if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    try:
        node[leaf] = value
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"bad value {text!r} for {dotted_key!r} (currently {old!r}, type {type(old).__name__}): {e}"
        ) from None


def _check_shadowed_width(cfg: ml_collections.ConfigDict, keys: set[str]) -> None:
    """A torso's per-layer ``widths`` (e.g. TD3's 400-300) take precedence over ``width``, so a
    ``width`` override alone would change nothing: refuse it rather than run the old sizes."""
    for key in keys:
        if not key.endswith(".width"):
            continue
        group = key[: -len(".width")]
        node = cfg
        for part in group.split("."):
            node = node[part]
        if "widths" in node and node.widths is not None and f"{group}.widths" not in keys:
            raise ValueError(
                f"{key} has no effect while {group}.widths={list(node.widths)} sets every layer; "
                f"add --config.{group}.widths=None (or set {group}.widths itself)"
            )


def apply_overrides(cfg: ml_collections.ConfigDict, pairs: list[tuple[str, str]]) -> ml_collections.ConfigDict:
    for key, text in pairs:
        apply_override(cfg, key, text)
    _check_shadowed_width(cfg, {key for key, _ in pairs})
    return cfg
