"""One measurement of the cost table (``benchmarks.memory``), made in a fresh process so that
its peak memory is its own; prints one JSON line.

    python -m benchmarks.memory_worker --kind=train|act --config=NAME [--config.KEY=VALUE ...]
        --dims=OBS,ACT [--batch-size=512] [--updates=20] [--act-steps=200] [--repeats=5]
    python -m benchmarks.memory_worker --kind=baseline
    python -m benchmarks.memory_worker --kind=spec --config=NAME
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from benchmarks.report_io import peak_memory
from experiments.cli import config_from_args, split_overrides


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory_worker")
    p.add_argument("--kind", required=True, choices=("train", "act", "baseline", "spec"))
    p.add_argument("--config", default=None)
    p.add_argument("--dims", default=None, help="OBS,ACT: observation and action sizes")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--updates", type=int, default=20, help="updates per timed repeat")
    p.add_argument("--act-steps", type=int, default=200, help="act calls per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    return p


def parse_dims(text: str) -> tuple[tuple[int, ...], int]:
    """'17,6' -> ((17,), 6). The observation is a shape so that pixel configs ('84x84x9,6')
    can be measured the same way once an encoder is wired into the agents."""
    obs, act = text.split(",")
    return tuple(int(n) for n in obs.split("x")), int(act)


def env_dims(cfg) -> str:
    """The config's env's sizes as ``--dims`` takes them; builds the env only for its spec."""
    from largerl_jax.envs import make_env

    spec = make_env(cfg.env.name, 1, action_repeat=cfg.env.get("action_repeat", 1)).spec
    return f"{spec.obs_dim},{spec.act_dim}"


def _agent(cfg, obs_shape, act_dim):
    from largerl_jax.agents import make_agent

    if len(obs_shape) != 1:
        raise ValueError(f"observations of shape {obs_shape}: only flat (state) observations reach the agents yet")
    return make_agent(cfg.agent, obs_shape[0], act_dim)


def _device_fields() -> dict:
    import jax

    d = jax.devices()[0]
    return {"device": str(d), "device_kind": getattr(d, "device_kind", d.platform), "platform": d.platform,
            "jax_version": jax.__version__}


def _memory_fields() -> dict:
    peak, kind = peak_memory()
    return {"peak_memory_bytes": int(peak), "peak_memory_kind": kind}


def _nbytes(tree) -> int:
    import jax
    import numpy as np

    return int(sum(np.prod(x.shape, dtype=np.int64) * x.dtype.itemsize for x in jax.tree.leaves(tree)))


def _param_counts(agent, state) -> dict:
    """Parameters per network; works on abstract (eval_shape) states too."""
    import jax
    import numpy as np

    return {name: int(sum(np.prod(x.shape, dtype=np.int64) for x in jax.tree.leaves(variables["params"])))
            for name, (_, variables) in agent.networks(state).items()}


def _median_per_call(fn, calls: int, repeats: int) -> tuple[float, list[float]]:
    """Median over repeats of the mean seconds per call of ``fn`` (which blocks on its result)."""
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - t0) / calls)
    return statistics.median(per_call), per_call


def measure_train(cfg, dims: str, batch_size: int, updates: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    from largerl_jax.replay import Transition

    obs_shape, act_dim = parse_dims(dims)
    agent = _agent(cfg, obs_shape, act_dim)
    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_obs, k_act, k_rew, k_next, k_step = jax.random.split(key, 6)
    # A fresh buffer per leaf: init shares the critic's arrays with its target, and a buffer
    # cannot be donated twice.
    state = jax.tree.map(lambda x: jnp.array(x, copy=True), agent.init(k_init))
    # A fixed batch: the table isolates the update from replay sampling.
    batch = Transition(
        obs=jax.random.normal(k_obs, (batch_size, *obs_shape)),
        action=jax.random.uniform(k_act, (batch_size, act_dim), minval=-1.0, maxval=1.0),
        reward=jax.random.normal(k_rew, (batch_size,)),
        next_obs=jax.random.normal(k_next, (batch_size, *obs_shape)),
        terminated=jnp.zeros((batch_size,)),
        truncated=jnp.zeros((batch_size,)),
    )
    jax.block_until_ready((state, batch))
    # Donated as in the training loop, so the old and new states are not both alive.
    t0 = time.perf_counter()
    update = jax.jit(agent.update, donate_argnums=(0,)).lower(state, batch, k_step).compile()
    compile_s = time.perf_counter() - t0
    box = [state]

    def step():
        box[0], metrics = update(box[0], batch, k_step)
        jax.block_until_ready((box[0], metrics))

    # Warm-up covers a whole period of the updates that run every 2nd step (actor, target).
    for _ in range(4):
        step()
    median, per_call = _median_per_call(step, updates, repeats)
    return {
        "kind": "train",
        "batch_size": batch_size,
        "compile_s": round(compile_s, 3),
        "ms_per_update": round(median * 1e3, 3),
        "ms_per_update_all": [round(t * 1e3, 3) for t in per_call],
        "updates_per_repeat": updates,
        "state_bytes": _nbytes(box[0]),
        "params": _param_counts(agent, box[0]),
        **_memory_fields(),
        **_device_fields(),
    }


def _read_leaves(agent, state_shape, obs, key) -> list[int]:
    """Indices of the state's leaves that ``act`` reads (for SAC: the actor's weights, not its
    optimizer state, the critics or their targets)."""
    import jax

    leaves, treedef = jax.tree.flatten(state_shape)
    jaxpr = jax.make_jaxpr(lambda ls: agent.act(treedef.unflatten(ls), obs, key, False))(leaves).jaxpr
    read = {id(v) for eqn in jaxpr.eqns for v in eqn.invars} | {id(v) for v in jaxpr.outvars}
    return [i for i, v in enumerate(jaxpr.invars) if id(v) in read]


def measure_act(cfg, dims: str, steps: int, repeats: int) -> dict:
    """Acting as deployed: only the weights that acting reads are ever built, one observation
    per call, stochastic actions, each action awaited before the next call."""
    import jax
    import jax.numpy as jnp

    obs_shape, act_dim = parse_dims(dims)
    agent = _agent(cfg, obs_shape, act_dim)
    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_obs, k_act = jax.random.split(key, 3)
    obs = jax.random.normal(k_obs, (1, *obs_shape))
    state_shape = jax.eval_shape(agent.init, k_init)
    shapes, treedef = jax.tree.flatten(state_shape)
    read = _read_leaves(agent, state_shape, obs, k_act)
    # XLA drops the computations of the leaves this program does not return.
    weights = jax.jit(lambda k: [jax.tree.leaves(agent.init(k))[i] for i in read])(k_init)

    def act_from(ws, o, k):
        # Zeros for the leaves act never reads; unread, XLA removes them.
        full = [jnp.zeros(s.shape, s.dtype) for s in shapes]
        for i, w in zip(read, ws):
            full[i] = w
        return agent.act(treedef.unflatten(full), o, k, False)

    jax.block_until_ready((weights, obs))
    t0 = time.perf_counter()
    act = jax.jit(act_from).lower(weights, obs, k_act).compile()
    compile_s = time.perf_counter() - t0

    def step():
        jax.block_until_ready(act(weights, obs, k_act))

    for _ in range(10):
        step()
    median, per_call = _median_per_call(step, steps, repeats)
    return {
        "kind": "act",
        "compile_s": round(compile_s, 3),
        "ms_per_step": round(median * 1e3, 4),
        "ms_per_step_all": [round(t * 1e3, 4) for t in per_call],
        "steps_per_repeat": steps,
        "weights_bytes": _nbytes(weights),
        "params": _param_counts(agent, state_shape),
        **_memory_fields(),
        **_device_fields(),
    }


def measure_baseline() -> dict:
    """The peak of a JAX process that runs one tiny program: what every measurement includes
    before it builds anything (the runtime's libraries on a CPU)."""
    import jax
    import jax.numpy as jnp

    jax.block_until_ready(jax.jit(lambda x: x + 1)(jnp.zeros(4)))
    return {"kind": "baseline", **_memory_fields(), **_device_fields()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if _parser().parse_args(split_overrides(argv)[0]).kind == "baseline":
        print(json.dumps(measure_baseline()))
        return 0
    args, cfg = config_from_args(_parser(), argv)
    if args.kind == "spec":
        print(json.dumps({"kind": "spec", "dims": env_dims(cfg)}))
        return 0
    from largerl_jax.training.precision import matmul_precision

    with matmul_precision(cfg.matmul_precision):
        if args.kind == "train":
            row = measure_train(cfg, args.dims, args.batch_size, args.updates, args.repeats)
        else:
            row = measure_act(cfg, args.dims, args.act_steps, args.repeats)
    print(json.dumps({"matmul_precision": cfg.matmul_precision, **row}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
