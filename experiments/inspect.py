"""Per-layer parameter tables of every network of an experiment:
``python -m experiments.inspect --config=NAME [--config.KEY=VALUE ...] [--json]``.

Shapes come from ``jax.eval_shape``, so even 2048-wide networks are inspected without
allocating them. Counting convention (stated in the output): Dense kernel + bias, LayerNorm
scale + bias, and batch norm with 4 numbers per unit (scale, bias, running mean and variance)
as Ota et al. 2021 count it in Table 2; ``--trainable-only`` counts batch norm's 2 trainable
numbers instead. Spectral-norm vectors are never counted. Ensembles (twin critics) are counted
per member, with "ensemble": K on their rows. ``blocks`` sums rows by their top-level module
(OFENet's phi_s = the z_s extractor of Table 2, phi_sa, predictor).

For SAC v1 agents it also prints the pruning paper's deploy / train counts (Table 4: deploy =
phi_s + policy, train = phi_s + phi_sa + policy + V + both Qs; trainable parameters, targets and
the predictor not counted, the predictor given apart) and, for ``*_xinet_*`` configs, the ratios
dR / tR against the same task's OFE baseline (Table 3). ``--workdir=DIR`` reads the final counts
of a pruned run's seeds from its metrics.jsonl instead.
"""
from __future__ import annotations

import argparse
import json
import sys

from experiments.cli import config_from_args
from experiments.configs.xinet import deploy_train
from largerl_jax.training import validate
from largerl_jax.training.run_hooks import agent_config_for_run

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
    agent = make_agent(agent_config_for_run(cfg), spec.obs_dim, spec.act_dim)
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


def counts_with_baseline(cfg) -> dict | None:
    """Deploy/train counts of ``cfg`` and, for a pruning-paper config, of its OFE baseline."""
    from experiments.configs import get_config
    from experiments.configs.xinet import baseline_name

    counts = deploy_train(network_tables(cfg, "trainable"))
    if counts is None:
        return None
    base = baseline_name(cfg.get("name", "").split("/")[0])
    if base is not None:
        counts["baseline"] = {"name": base, **deploy_train(network_tables(get_config(base), "trainable"))}
    return counts


def _ratio_text(deploy: float, train: float, baseline: dict | None) -> str:
    if not baseline:
        return ""
    return f"  dR {100 * deploy / baseline['deploy']:.0f}%  tR {100 * train / baseline['train']:.0f}% (vs {baseline['name']})"


def print_run_counts(workdir: str) -> int:
    """Final deploy/train counts per seed of a pruned run, with dR/tR against the OFE baseline."""
    import os

    from largerl_jax.training.run_folder import saved_config
    from largerl_jax.training.run_files import metrics_io as records
    cfg, _ = saved_config(workdir)
    last: dict[int, dict] = {}
    for r in records.read(os.path.join(workdir, "metrics.jsonl")):
        if "params/deploy" in r:
            last[r["seed"]] = r
    if not last:
        print(f"error: {workdir}/metrics.jsonl has no parameter counts (not a pruned run, or no evaluation yet)", file=sys.stderr)
        return 2
    baseline = (counts_with_baseline(cfg) or {}).get("baseline")
    print(f"{cfg.name}: parameters counted over alive units (pruning paper, Table 4 convention)")
    for seed, r in sorted(last.items()):
        d, t = r["params/deploy"], r["params/train"]
        print(f"  seed {seed} at env step {r['env_steps']}: deploy {d:,.0f}  train {t:,.0f}{_ratio_text(d, t, baseline)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="experiment name")
    parser.add_argument("--workdir", help="a pruned run's folder: print its final deploy/train counts per seed")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text tables")
    parser.add_argument("--trainable-only", action="store_true", help="count batch norm's 2 trainable numbers per unit")
    argv = sys.argv[1:] if argv is None else argv
    workdir = next((a.split("=", 1)[1] for a in argv if a.startswith("--workdir=")), None)
    if workdir is not None:
        try:
            return print_run_counts(workdir)
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    args, cfg = config_from_args(parser, argv)
    try:
        validate(cfg)
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tables = network_tables(cfg, "trainable" if args.trainable_only else "paper")
    counts = counts_with_baseline(cfg)
    if counts is not None:
        tables["deploy_train"] = counts
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
    if counts is not None:
        print("\npruning-paper counts (Table 4: trainable parameters, targets and predictor not counted):")
        print(f"  deploy (phi_s + policy) {counts['deploy']:,}  train (+ phi_sa, V, Q1, Q2) {counts['train']:,}"
              f"  (predictor {counts['predictor']:,})")
        text = _ratio_text(counts["deploy"], counts["train"], counts.get("baseline"))
        if text:
            print(" " + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
