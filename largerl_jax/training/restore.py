"""One seed's trained agent from a finished (or interrupted) run folder, for every tool that reads
a run after the fact (policy videos, policy export): which seed is best, and its agent state
from the newest complete checkpoint, restored into this code's train-state layout."""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import jax
import jax.numpy as jnp

from largerl_jax.agents import Agent
from largerl_jax.envs.base import EnvSpec
from largerl_jax.training import records as metrics_io
from largerl_jax.training.checkpoint import Checkpointer
from largerl_jax.training import shrinking
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
        # A pruned run may have shrunk its networks: rebuild them at the checkpoint's widths.
        cfg = shrinking.with_widths(cfg, (ckpt.latest_meta() or {}).get(shrinking.META_KEY))
        driver = make_driver(cfg, [cfg.seed + i for i in range(num_seeds)])
        try:
            abstract = driver.abstract_state(jax.ShapeDtypeStruct((num_seeds, 2), jnp.uint32), cfg.replay_capacity)
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
    agent_state = jax.tree.map(lambda x: x[seed_index], ts.agent)
    del ts  # the replay buffers are not needed to act
    return RestoredAgent(agent=agent, state=agent_state, spec=spec, meta=meta)
