"""Shared parsing of ``--config=NAME [--config.KEY=VALUE ...]`` for the experiment scripts."""
from __future__ import annotations

import argparse
import sys

from experiments.configs import get_config, list_configs
from experiments.overrides import apply_overrides


def split_overrides(argv: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Separates ``--config.KEY=VALUE`` (or ``--config.KEY VALUE``) from the other arguments."""
    rest, pairs, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--config."):
            body = arg[len("--config."):]
            if "=" in body:
                key, value = body.split("=", 1)
            elif i + 1 < len(argv):
                key, value = body, argv[i + 1]
                i += 1
            else:
                raise ValueError(f"{arg} needs a value (--config.KEY=VALUE)")
            pairs.append((key, value))
        else:
            rest.append(arg)
        i += 1
    return rest, pairs


def config_from_args(parser: argparse.ArgumentParser, argv: list[str] | None = None):
    """Parses argv with ``parser`` (which must define --config) and returns (args, config)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        rest, pairs = split_overrides(argv)
    except ValueError as e:
        parser.exit(2, f"error: {e}\n")
    args = parser.parse_args(rest)
    if args.config is None:
        parser.error(f"--config=NAME is required ({len(list_configs())} configs: python -m experiments.run --list-configs)")
    try:
        cfg = apply_overrides(get_config(args.config), pairs)
    except ValueError as e:
        parser.exit(2, f"error: {e}\n")
    return args, cfg
