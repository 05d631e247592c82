"""Per-layer parameter tables of every network of an experiment:
``python -m experiments.inspect --config=NAME [--config.KEY=VALUE ...] [--json]``.

Shapes come from ``jax.eval_shape``, so even 2048-wide networks are inspected without
allocating them. Counting convention (stated in the output): Dense kernel + bias, LayerNorm
scale + bias, and batch norm with 4 numbers per unit (scale, bias, running mean and variance)
as Ota et al. 2021 count it in Table 2; ``--trainable-only`` counts batch norm's 2 trainable
numbers instead. Spectral-norm vectors are never counted. Ensembles (twin critics) are counted
per member, with "ensemble": K on their rows. ``blocks`` sums rows by their top-level module
(OFENet's phi_s = the z_s extractor of Table 2, phi_sa, predictor).
"""
from __future__ import annotations

import argparse
import json
import sys

from experiments.cli import config_from_args
from largerl_jax.training import validate

CONVENTIONS = {
    "paper": (
        "per ensemble member: Dense kernel+bias, LayerNorm scale+bias, batch norm 4 numbers per unit "
        "(scale, bias, running mean, running variance) as in Ota et al. 2021 Table 2; spectral-norm "
        "vectors not counted"
    ),
    "trainable": (
        "trainable parameters per ensemble member: Dense kernel+bias plus the scale+bias of the "
        "normalization attached to the layer; spectral-norm vectors and batch-norm running statistics "
        "are state and not counted"
    ),
}


def network_tables(cfg, bn_convention: str = "paper") -> dict:
    import jax

    from largerl_jax.agents import make_agent
    from largerl_jax.envs import make_env
    from largerl_jax.networks import param_table

    env = make_env(cfg.env.name, 1, backend=cfg.env.backend, episode_length=cfg.env.episode_length)
    spec = env.spec
    if hasattr(env, "close"):
        env.close()
    agent = make_agent(cfg.agent, spec.obs_dim, spec.act_dim)
    state = jax.eval_shape(agent.init, jax.random.PRNGKey(0))
    out = {}
    for name, (_, variables) in agent.networks(state).items():
        rows = param_table(variables, bn_convention=bn_convention)
        layers = [
            {k: r[k] for k in ("name", "in", "out", "params")} | ({"ensemble": r["ensemble"]} if "ensemble" in r else {})
            for r in rows
        ]
        blocks: dict[str, int] = {}
        for r in rows:
            top = r["name"].split("/")[0]
            blocks[top] = blocks.get(top, 0) + r["params"] * r.get("ensemble", 1)
        out[name] = {
            "layers": layers,
            "blocks": blocks,
            "params": sum(r["params"] * r.get("ensemble", 1) for r in rows),
        }
    return {
        "config": cfg.name,
        "obs_dim": spec.obs_dim,
        "act_dim": spec.act_dim,
        "convention": CONVENTIONS[bn_convention],
        "networks": out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="experiment name")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text tables")
    parser.add_argument("--trainable-only", action="store_true", help="count batch norm's 2 trainable numbers per unit")
    args, cfg = config_from_args(parser, argv)
    try:
        validate(cfg)
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tables = network_tables(cfg, "trainable" if args.trainable_only else "paper")
    if args.json:
        print(json.dumps(tables, indent=2))
        return 0
    print(f"{tables['config']}: obs_dim {tables['obs_dim']}, act_dim {tables['act_dim']}")
    print(f"counting: {tables['convention']}")
    for name, net in tables["networks"].items():
        blocks = ", ".join(f"{k} {v:,}" for k, v in net["blocks"].items())
        print(f"\n{name}: {net['params']:,} parameters ({blocks})")
        for layer in net["layers"]:
            ens = f" x{layer['ensemble']}" if "ensemble" in layer else ""
            print(f"  {layer['name']:<36} {str(layer['in']):>7} -> {str(layer['out']):<7} {layer['params']:>12,}{ens}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
