"""Reopening a run folder for every tool that reads a run after the fact (export, video,
landscapes, inspection): ``open_run(workdir)`` gives its run config from ``config.json`` alone
(no experiment module needed), its seeds, its newest complete checkpoint and the restored agent
of one seed.

The config is rebuilt as the library builds every run config (``run_config`` of the saved agent
family and env, so FieldReferences and types stay the code's) with every value saved in
``config.json`` written over it. Any experiment config's keys are a subset of that base (a test
checks every registered config), so nothing saved is left out."""
from __future__ import annotations

import dataclasses
import json
import os

import ml_collections

from largerl_jax.training.run_files.checkpoint import Checkpointer
from largerl_jax.training.config import run_config, validate
from largerl_jax.training.restore import RestoredAgent, best_seed_index, restore_agent, restore_agent_and_replay


def _overwrite(cfg: ml_collections.ConfigDict, saved: dict, prefix: str = "") -> None:
    for key, value in saved.items():
        path = prefix + key
        if key not in cfg:
            raise ValueError(f"config.json has key {path!r}, which this version's run config lacks")
        if isinstance(cfg[key], ml_collections.ConfigDict) and isinstance(value, dict):
            _overwrite(cfg[key], value, path + ".")
            continue
        old = cfg[key]
        if isinstance(value, list):  # JSON has no tuples
            value = tuple(value)
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        cfg[key] = value


def config_from_saved(saved: dict) -> ml_collections.ConfigDict:
    """The run config that ``config.json``'s values describe (keys starting with _ are ignored)."""
    values = {k: v for k, v in saved.items() if not k.startswith("_")}
    try:
        agent, env = values["agent"]["name"], values["env"]["name"]
    except (KeyError, TypeError):
        raise ValueError("config.json names no agent.name and env.name: not a run config") from None
    cfg = run_config(agent=agent, env=env)
    _overwrite(cfg, values)
    return cfg


def saved_config(workdir: str) -> tuple[ml_collections.ConfigDict, int]:
    """The run config of ``workdir`` and its number of seeds."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no run: no config.json (pass the --workdir of an experiments.run run)")
    with open(path) as f:
        saved = json.load(f)
    return config_from_saved(saved), int(saved.get("_num_seeds", 1))


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """A run folder written by ``experiments.run``: its validated run config and seeds."""

    workdir: str
    cfg: ml_collections.ConfigDict
    num_seeds: int

    @property
    def seeds(self) -> list[int]:
        return [self.cfg.seed + i for i in range(self.num_seeds)]

    def newest_step(self) -> int | None:
        """Env step of the newest complete checkpoint (None: none yet). Torn steps are skipped,
        never deleted: the run may still be writing them."""
        directory = os.path.join(self.workdir, "checkpoints")
        if not os.path.isdir(directory):
            return None
        ckpt = Checkpointer(directory)
        try:
            return ckpt.latest_step()
        finally:
            ckpt.close()

    def seed_index(self, requested: int | None = None) -> int:
        """``requested``, or (None) the seed with the best final eval_return in metrics.jsonl."""
        # a requested index is checked where it is used (restore_agent), before any compile
        return best_seed_index(self.workdir, self.seeds) if requested is None else requested

    def restore(self, seed_index: int) -> RestoredAgent:
        """That seed's agent and agent state from the newest complete checkpoint."""
        return restore_agent(self.cfg, self.workdir, self.num_seeds, seed_index)

    def restore_with_replay(self, seed_index: int):
        """(RestoredAgent, that seed's replay buffer) from the newest complete checkpoint."""
        return restore_agent_and_replay(self.cfg, self.workdir, self.num_seeds, seed_index)


def open_run(workdir: str) -> RunFolder:
    """The run in ``workdir``; ValueError / FileNotFoundError (one line) when it holds none or
    its config does not validate under this code."""
    cfg, num_seeds = saved_config(workdir)
    validate(cfg)
    return RunFolder(workdir=workdir, cfg=cfg, num_seeds=num_seeds)
