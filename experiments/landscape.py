"""Loss landscape of a run's trained critic (Ota et al. 2021, App. A.3; Li et al. 2018):
``python -m experiments.landscape --workdir=DIR [--seed-index=I] [--points=21] [--span=1.0]
[--transitions=10000] [--rng=0] [--out=PREFIX]``.

From DIR's newest complete checkpoint: one seed's agent and replay. Up to --transitions stored
transitions (drawn uniformly without replacement, seeded by --rng; all of them when the replay
holds fewer; Ota et al. used every transition of training) get their TD targets Qhat frozen by
the agent's own target computation. Then eq. (2), 0.5 * mean (Q(s, a) - Qhat)^2 averaged over
the critic's ensemble members, is evaluated at theta + a d1 + b d2 on a --points x --points grid
of a, b in [-span, span], for two filter-normalised random directions d1, d2 (from --rng; see
largerl_jax/analysis/landscape.py for the normalisation, the ensemble and train=False choices).
Writes PREFIX_contour.png, PREFIX_surface.png and PREFIX.npz (alphas, betas, losses[i, j] at
alphas[i], betas[j], origin_loss, config_name, seed, ...); PREFIX defaults to DIR/landscape.
Exit codes: 0 written; 2 bad input (folder, option, checkpoint of another layout, empty replay).
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys

import numpy as np

from largerl_jax.training.run_folder import open_run


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.landscape", description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="run folder written by experiments.run")
    p.add_argument("--seed-index", type=int, default=None, help="which seed of the run (default: best final eval_return)")
    p.add_argument("--points", type=int, default=21, help="grid points per axis (odd: the grid holds the trained weights)")
    p.add_argument("--span", type=float, default=1.0, help="the grid covers [-span, span] along each direction")
    p.add_argument("--transitions", type=int, default=10_000, help="stored transitions to evaluate on (all if fewer)")
    p.add_argument("--rng", type=int, default=0, help="seed of the transition sample and the random directions")
    p.add_argument("--out", default=None, help="output prefix (default DIR/landscape)")
    return p


def _check(args) -> str:
    if args.points < 2:
        raise ValueError(f"--points={args.points}: the grid needs at least 2 points per axis")
    if not (math.isfinite(args.span) and args.span > 0):
        raise ValueError(f"--span={args.span}: must be a positive number")
    if args.transitions < 1:
        raise ValueError(f"--transitions={args.transitions}: must be at least 1")
    out = args.out or os.path.join(args.workdir, "landscape")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--out {out!r}: folder {folder} does not exist")
    if os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a folder; give a file prefix such as {os.path.join(out, 'landscape')}")
    return out


def _levels(losses: np.ndarray, count: int = 30) -> np.ndarray:
    """Contour levels: log-spaced when the losses span decades (they grow fast away from the
    minimum, and linear levels would all crowd at the rim)."""
    finite = losses[np.isfinite(losses)]
    lo, hi = float(finite.min()), float(finite.max())
    if not hi > lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    return np.geomspace(lo, hi, count) if lo > 0 and hi / lo > 100 else np.linspace(lo, hi, count)


def write_plots(prefix: str, alphas, betas, losses, title: str) -> tuple[str, str]:
    import matplotlib  # heavy and optional (the 'plots' extra): imported once it is needed

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = np.meshgrid(alphas, betas, indexing="ij")
    contour, surface = f"{prefix}_contour.png", f"{prefix}_surface.png"
    fig, ax = plt.subplots(figsize=(5.5, 5))
    lines = ax.contour(a, b, losses, levels=_levels(losses), cmap="viridis")
    ax.clabel(lines, lines.levels[::5], fontsize=7, fmt="%.3g")
    ax.plot([0], [0], "r+", markersize=10, label="trained weights")
    ax.set(xlabel="direction 1", ylabel="direction 2", title=title, aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(contour, dpi=120)
    plt.close(fig)

    fig = plt.figure(figsize=(6.5, 5))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(a, b, losses, cmap="viridis", linewidth=0, antialiased=True)
    ax.set(xlabel="direction 1", ylabel="direction 2", zlabel="critic loss", title=title)
    fig.tight_layout()
    fig.savefig(surface, dpi=120)
    plt.close(fig)
    return contour, surface


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run = open_run(args.workdir)
        out = _check(args)
        if importlib.util.find_spec("matplotlib") is None:  # bad input too, found before any compile
            raise ValueError("experiments.landscape draws with matplotlib: pip install 'largerl-jax[plots]'")
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import jax  # heavy imports after the cheap checks

    from largerl_jax.analysis.critic_landscape import critic_landscape
    from largerl_jax.training.restore import stored_sample

    cfg, seeds = run.cfg, run.seeds
    try:
        index = run.seed_index(args.seed_index)
        restored, replay = run.restore_with_replay(index)
        batch = stored_sample(replay, args.transitions, args.rng)
        del replay
        if batch.reward.shape[0] == 0:
            raise ValueError(f"seed index {index}'s replay holds no transition")
        result = critic_landscape(restored.agent, restored.state, batch, jax.random.PRNGKey(args.rng), args.points,
                                  args.span)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    env_steps = restored.meta.get("env_steps")
    np.savez(
        f"{out}.npz", alphas=result.alphas, betas=result.betas, losses=result.losses,
        origin_loss=np.float64(result.origin_loss), config_name=str(cfg.name), agent=restored.agent.name,
        seed=seeds[index], seed_index=index, env_steps=-1 if env_steps is None else int(env_steps),
        transitions=result.transitions, span=args.span, rng=args.rng,
    )
    title = f"{cfg.name}, seed {seeds[index]}: critic loss"
    contour, surface = write_plots(out, result.alphas, result.betas, result.losses, title)
    finite = result.losses[np.isfinite(result.losses)]
    print(
        f"{out}.npz, {contour}, {surface}: {restored.agent.name} critic of seed {seeds[index]} (index {index}) at env "
        f"step {env_steps}, {result.transitions} stored transitions, {args.points}x{args.points} grid over "
        f"[-{args.span:g}, {args.span:g}]^2: loss {result.origin_loss:.4g} at the trained weights, "
        f"{finite.min():.4g} to {finite.max():.4g} on the grid"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
