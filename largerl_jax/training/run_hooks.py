"""The run loop's side of the methods' run hooks (``agents.run_hooks``): every hook is called the
same way, and none is named here.

A reshaping hook (pruning's shrink) returns a smaller agent state and agent-config overrides;
the loop then rebuilds its driver for the new config, so the compiled programs are recompiled
for the new shapes, and re-attaches the state's leaves to the rebuilt agent's structure. The
overrides ride in checkpoint metadata under the hook's ``meta_key``.
"""
from __future__ import annotations

import copy

import jax
import jax.numpy as jnp

from largerl_jax.agents.run_hooks import run_hooks


def active(cfg) -> list:
    return [h for h in run_hooks() if h.active(cfg)]


def agent_config_for_run(cfg):
    """cfg.agent with what only the run fixes filled in by the active hooks (a copy when any
    hook fills something in; cfg is kept)."""
    agent = cfg.agent
    for hook in active(cfg):
        if hook.agent_config is not None:
            agent = hook.agent_config(cfg, agent)
    return agent


def validate(cfg) -> list[str]:
    return [p for h in run_hooks() if h.validate is not None for p in h.validate(cfg)]


def reshapes(cfg) -> bool:
    """Whether some active hook may reshape the agent during the run."""
    return any(h.reshape is not None for h in active(cfg))


def with_overrides(cfg, overrides: dict | None):
    """A copy of the run config with agent-config ``overrides`` ({'<network>.<field>': value},
    dotted under cfg.agent; lists become tuples) written in; cfg itself when there are none."""
    if not overrides:
        return cfg
    cfg = copy.deepcopy(cfg)
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = cfg.agent
        for part in parents:
            node = node[part]
        node[leaf] = tuple(value) if isinstance(value, (list, tuple)) else value
    return cfg


def saved_overrides(meta: dict | None) -> dict:
    """{meta_key: overrides} of every hook that left overrides in checkpoint metadata."""
    meta = meta or {}
    return {h.meta_key: meta[h.meta_key] for h in run_hooks() if meta.get(h.meta_key)}


def restored_config(cfg, meta: dict | None):
    """The run config as the checkpoint with metadata ``meta`` was taken: every hook's saved
    overrides written in."""
    for overrides in saved_overrides(meta).values():
        cfg = with_overrides(cfg, overrides)
    return cfg


def checkpoint_meta(saved: dict) -> dict:
    """``saved`` ({meta_key: overrides}) as JSON-ready checkpoint metadata."""
    return {key: {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in overrides.items()}
            for key, overrides in saved.items() if overrides}


def after_chunk(cfg, driver, ts, make_driver, seeds, start: int, end: int, last: bool, saved: dict):
    """After a training chunk over env steps (start, end]: every due hook reshapes the agent.
    Returns (cfg, driver, ts, saved, reshaped); a reshaped run has a new driver (the old one is
    closed) and ``saved`` updated with the hooks' overrides."""
    hooks = [h for h in active(cfg) if h.reshape is not None and h.due(cfg, start, end, last)]
    if not hooks:
        return cfg, driver, ts, saved, False
    agent_state, saved = ts.agent, dict(saved)
    new_cfg = cfg
    for hook in hooks:
        agent_state, overrides = hook.reshape(new_cfg, agent_state, driver.spec.obs_dim, driver.spec.act_dim)
        saved[hook.meta_key] = {**saved.get(hook.meta_key, {}), **overrides}
        new_cfg = with_overrides(new_cfg, overrides)
    driver.close()
    new_driver = make_driver(new_cfg, seeds)
    abstract = new_driver.abstract_state(jax.ShapeDtypeStruct((len(seeds), 2), jnp.uint32), cfg.replay_capacity, ts.hparams)
    leaves = jax.tree.leaves(ts.replace(agent=agent_state))
    shapes, expected = [x.shape for x in leaves], [x.shape for x in jax.tree.leaves(abstract)]
    if shapes != expected:  # a bug, not bad input: the reshaped state must fit the rebuilt agent
        raise RuntimeError("reshaped train state does not match the rebuilt agent's layout")
    return new_cfg, new_driver, jax.tree.unflatten(jax.tree.structure(abstract), leaves), saved, True


def evaluation_stats(cfg, driver, ts) -> dict:
    """The active hooks' per-row statistics for an evaluation record."""
    stats = {}
    for hook in active(cfg):
        if hook.evaluation is not None:
            stats.update(hook.evaluation(cfg, ts.agent, driver.spec.obs_dim, driver.spec.act_dim))
    return stats
