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


def add_wandb_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wandb", nargs="?", const="largerl-jax", default=None, metavar="PROJECT",
                        help="also log to Weights & Biases, project PROJECT (default largerl-jax); one W&B run per "
                             "seed (pip install \"largerl-jax[wandb]\"; WANDB_MODE=offline works without a network)")
    parser.add_argument("--wandb-entity", default=None, help="W&B entity (team or user)")
    parser.add_argument("--wandb-group", default=None, help="W&B group of the runs (default: the run folder's name)")


def wandb_settings(args, group: str | None = None):
    """The W&B settings the flags ask for (None without --wandb); ImportError (one line) when the
    package is missing, so before any compute."""
    if args.wandb is None:
        return None
    from largerl_jax.training.run_files.wandb_log import WandbSettings, check_available  # noqa: PLC0415  (heavy: after the flags are read)

    check_available()
    return WandbSettings(project=args.wandb, group=args.wandb_group or group, entity=args.wandb_entity)
