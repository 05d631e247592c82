"""Physical shrinking of pruned networks during a run (pruning paper; spec Sec. 3.6): when, how
the run's config follows the new widths, and swapping the compiled driver for one built for
them. The step is recompiled for the smaller shapes, so pruning speeds training and acting up.

The widths live in the checkpoint's metadata (``agent_widths``), so ``--resume`` and the tools
that read a run folder rebuild the shrunk networks before loading their arrays.
"""
from __future__ import annotations

import copy
import math

import jax
import jax.numpy as jnp

from largerl_jax.agents import pruned_param_counts, shrink_agent_state
from largerl_jax.training.config import agent_config_for_run, pruning_enabled

META_KEY = "agent_widths"


def shrink_points(cfg) -> list[int]:
    """Env steps after which the run shrinks (before its end, which always shrinks once more):
    ``pruning.shrinks`` points spread evenly over the RL phase up to the rounding, the last at
    the rounding itself. Empty without pruning."""
    if not pruning_enabled(cfg):
        return []
    p = cfg.agent.pruning
    start, end = cfg.warmup_env_steps, int(p.round_fraction * cfg.total_env_steps)
    return sorted({start + math.ceil((end - start) * i / p.shrinks) for i in range(1, p.shrinks + 1)} - {cfg.total_env_steps})


def due(cfg, start: int, end: int, last: bool) -> bool:
    """Whether a chunk covering env steps (start, end] ends with a shrink."""
    return pruning_enabled(cfg) and (last or any(start < point <= end for point in shrink_points(cfg)))


def with_widths(cfg, widths: dict | None):
    """A copy of the run config whose agent networks have the shrunk ``widths``
    ({'<network>.<widths field>': (...), ...}, keys under cfg.agent); cfg itself when there
    are none."""
    if not widths:
        return cfg
    cfg = copy.deepcopy(cfg)
    for key, value in widths.items():
        net, field = key.split(".")
        cfg.agent[net][field] = tuple(value)
    return cfg


def shrink(cfg, driver, ts, make_driver, seeds):
    """(config, driver, train state) after removing every dead unit: the new driver is built for
    the new widths and the state's leaves re-attached to its structure. ``driver`` is closed."""
    agent_state, widths = shrink_agent_state(agent_config_for_run(cfg), ts.agent, driver.spec.obs_dim, driver.spec.act_dim)
    new_cfg = with_widths(cfg, widths)
    driver.close()
    new_driver = make_driver(new_cfg, seeds)
    abstract = new_driver.abstract_state(jax.ShapeDtypeStruct((len(seeds), 2), jnp.uint32), cfg.replay_capacity, ts.hparams)
    leaves = jax.tree.leaves(ts.replace(agent=agent_state))
    shapes, expected = [x.shape for x in leaves], [x.shape for x in jax.tree.leaves(abstract)]
    if shapes != expected:  # a bug, not bad input: the compacted state must fit the rebuilt agent
        raise RuntimeError("shrunk train state does not match the rebuilt agent's layout")
    return new_cfg, new_driver, jax.tree.unflatten(jax.tree.structure(abstract), leaves), widths


def param_counts(cfg, driver, ts) -> dict:
    """Deploy and train parameter counts per seed (alive units only; see pruned_param_counts)."""
    return pruned_param_counts(cfg.agent, ts.agent, driver.spec.obs_dim, driver.spec.act_dim)
