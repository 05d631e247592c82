"""Our 2x2048 update measured in this process: ``jit(agent.update)`` timed on one fixed random
batch, its FLOPs from XLA's cost analysis, and the agent's parameter counts per network."""
from __future__ import annotations

import statistics
import time

UPDATE_WARMUP_CALLS = 2


def _count_leaves(tree) -> int:
    import math

    import jax

    return int(sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree)))


def ours_param_counts(cfg, obs_dim: int, act_dim: int) -> dict:
    """Trainable parameters per network of our agent (sums of its 'params' leaves, every
    ensemble member included) and OFENet's batch-norm statistics; shapes only, nothing
    allocated."""
    import jax

    from largerl_jax.agents import make_agent

    agent = make_agent(cfg.agent, obs_dim, act_dim)
    state = jax.eval_shape(agent.init, jax.random.PRNGKey(0))
    nets = agent.networks(state)
    counts = {name: _count_leaves(variables["params"]) for name, (_, variables) in nets.items()}
    if "ofenet" in nets:
        counts["ofenet_batch_stats"] = _count_leaves(nets["ofenet"][1].get("batch_stats", {}))
    return counts


def compiled_flops(compiled) -> float | None:
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        return None
    return float(analysis["flops"])


def measure_ours_update(cfg, obs_dim: int, act_dim: int, updates: int, warmup_calls: int = UPDATE_WARMUP_CALLS,
                        seed: int = 0) -> dict:
    """Times ``jit(agent.update)`` (state donated) on one fixed random batch, in this process."""
    import jax
    import jax.numpy as jnp

    from largerl_jax.agents import make_agent
    from largerl_jax.replay.synthetic import random_transitions

    agent = make_agent(cfg.agent, obs_dim, act_dim)
    k_init, k_batch, k_update = jax.random.split(jax.random.PRNGKey(seed), 3)
    # init shares buffers between online and target networks; donation needs each leaf its own.
    state = jax.tree.map(jnp.copy, agent.init(k_init))
    batch = random_transitions(k_batch, cfg.agent.batch_size, obs_dim, act_dim)
    keys = list(jax.random.split(k_update, warmup_calls + updates))
    t0 = time.perf_counter()
    compiled = jax.jit(agent.update, donate_argnums=0).lower(state, batch, keys[0]).compile()
    compile_s = time.perf_counter() - t0
    flops = compiled_flops(compiled)
    for i in range(warmup_calls):
        state, metrics = compiled(state, batch, keys[i])
    jax.block_until_ready(state)
    times = []
    for i in range(warmup_calls, warmup_calls + updates):
        t0 = time.perf_counter()
        state, metrics = compiled(state, batch, keys[i])
        jax.block_until_ready(state)
        times.append(time.perf_counter() - t0)
    losses = {k: float(v) for k, v in metrics.items() if getattr(v, "ndim", 1) == 0}
    return {
        "config": cfg.name,
        "obs_dim": obs_dim,
        "act_dim": act_dim,
        "batch_size": cfg.agent.batch_size,
        "importance_weights": None,
        "compile_s": round(compile_s, 2),
        "flops_per_update": flops,
        "warmup_calls": warmup_calls,
        "updates": updates,
        "update_s_all": [round(t, 4) for t in times],
        "update_s_median": round(statistics.median(times), 4),
        "updates_per_s": round(updates / sum(times), 4),
        "last_losses": losses,
        "device": str(jax.devices()[0]),
    }
