"""One seed's trained agent from a finished (or interrupted) run folder, for every tool that reads
a run after the fact (policy videos, policy export, loss landscapes): which seed is best, and
its agent state (and, on request, its replay) from the newest complete checkpoint, restored
into this code's train-state layout."""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from largerl_jax.agents import Agent
from largerl_jax.replay import Transition
from largerl_jax.replay.kinds import gather_rows, rows_of
from largerl_jax.envs.base import EnvSpec
from largerl_jax.training.run_files import metrics_io
from largerl_jax.training.run_files.checkpoint import Checkpointer
from largerl_jax.training import hyperparams, run_hooks
from largerl_jax.training.runner import make_driver


def best_seed_index(workdir: str, seeds: list[int]) -> int:
    """Index into ``seeds`` of the best final eval_return in ``workdir/metrics.jsonl`` (diverged
    seeds have none); 0 when the file holds no evaluation."""
    path = os.path.join(workdir, "metrics.jsonl")
    records = metrics_io.read(path) if os.path.exists(path) else []
    final: dict[int, float] = {}
    for r in records:  # records come in env-step order, so the last one per seed is the final one
        value = r.get("eval_return")
        final[r["seed"]] = value if isinstance(value, (int, float)) and math.isfinite(value) else -math.inf
    ranked = [(final.get(s, -math.inf), -i) for i, s in enumerate(seeds)]
    return -max(ranked)[1]


@dataclasses.dataclass(frozen=True)
class RestoredAgent:
    """One seed of a run: its agent (the pure functions), that seed's agent state, the env's
    spec and the checkpoint's meta (env_steps and the like)."""

    agent: Agent
    state: Any
    spec: EnvSpec
    meta: dict


def restore_agent(cfg, workdir: str, num_seeds: int, seed_index: int) -> RestoredAgent:
    """Seed ``seed_index`` of the run of ``cfg`` with ``num_seeds`` seeds, from its newest complete
    checkpoint. Torn steps are skipped, not deleted as a resume would: the run may still be
    writing them."""
    return _restore(cfg, workdir, num_seeds, seed_index, with_replay=False)[0]


def restore_agent_and_replay(cfg, workdir: str, num_seeds: int, seed_index: int) -> tuple[RestoredAgent, Any]:
    """As ``restore_agent``, with that seed's replay buffer from the same checkpoint (the
    run's kind: ReplayBuffer, PrioritizedBuffer or FrameReplay), for analyses on stored data."""
    return _restore(cfg, workdir, num_seeds, seed_index, with_replay=True)


def _restore(cfg, workdir: str, num_seeds: int, seed_index: int, with_replay: bool) -> tuple[RestoredAgent, Any]:
    if not 0 <= seed_index < num_seeds:
        raise ValueError(f"seed index {seed_index} out of range: the run has {num_seeds} seed(s), 0 to {num_seeds - 1}")
    directory = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{workdir} holds no checkpoints folder; is it a run folder of experiments.run?")
    ckpt = Checkpointer(directory)
    try:
        step = ckpt.latest_step()
        if step is None:
            raise FileNotFoundError(f"no complete checkpoint under {directory}")
        # A run hook may have reshaped the agent (pruning's shrink): rebuild it as checkpointed.
        # A grid point's train state carries its scalar hyperparameters.
        latest = ckpt.latest_meta() or {}
        cfg = run_hooks.restored_config(cfg, latest)
        carried = tuple(latest.get(hyperparams.META_KEY, ()))
        driver = make_driver(cfg, [cfg.seed + i for i in range(num_seeds)], carried=carried)
        try:
            hparams = hyperparams.stacked([cfg], list(carried), num_seeds)
            abstract = driver.abstract_state(jax.ShapeDtypeStruct((num_seeds, 2), jnp.uint32), cfg.replay_capacity, hparams)
            agent, spec = driver.agent, driver.spec
        finally:
            driver.close()
        try:
            ts, meta = ckpt.restore(abstract, step=step)
        except Exception as e:  # Orbax reports a layout mismatch in many ways
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ValueError(
                f"checkpoint step {step} under {directory} does not load as this code's train state for the run's "
                f"config ({reason}); read it with the largerl-jax version that wrote it"
            ) from e
    finally:
        ckpt.close()
    take = jax.jit(lambda tree: jax.tree.map(lambda x: x[seed_index], tree))  # one program, not one per leaf
    agent_state = take(ts.agent)
    replay = take(ts.replay) if with_replay else None
    del ts  # only the chosen seed's parts are kept
    return RestoredAgent(agent=agent, state=agent_state, spec=spec, meta=meta), replay


def stored_sample(replay, n: int, seed: int = 0) -> Transition:
    """``n`` of ``replay``'s stored transitions drawn uniformly without replacement (every one,
    in row order, when it holds no more than ``n``): only valid rows, never the empty or the
    next-observation rows. Host-side; pixel replays give frame stacks as obs and next_obs."""
    rows = np.flatnonzero(np.asarray(rows_of(replay).valid))
    if rows.size > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    idx = jnp.asarray(rows, jnp.int32)
    return gather_rows(replay, idx)
