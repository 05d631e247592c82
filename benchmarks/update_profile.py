"""Where one agent update's time goes on this device:

    python -m benchmarks.update_profile --config=NAME [--config.KEY=VALUE ...] [--updates=5]
        [--out=FILE.json]

``jit(agent.update)`` of the config's agent (the env's observation and action sizes, a fixed
random batch, the state donated) is timed plain and vmapped over one seed (as the training
programs run it), its FLOPs taken from XLA's cost analysis, and one traced run of ``--updates``
updates is summed per XLA instruction (benchmarks.op_profile) into categories by the networks'
scopes: critic, actor, and the rest (optimizer steps, target updates, metrics). Thread time: on
a CPU, XLA may run instructions on several threads at once.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import op_profile
from benchmarks.report_io import write_report
from experiments.cli import config_from_args

RULES = (("critic", ("QNetwork", "critic")), ("actor", ("Policy", "actor")), ("value", ("VNetwork",)),
         ("ofenet", ("OFENet", "ofe")))


def _time(f, state, args, n: int):
    import jax

    state, _ = f(state, *args)
    jax.block_until_ready(state)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        state, _ = f(state, *args)
        jax.block_until_ready(state)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), state


def profile(cfg, updates: int, trace_dir: str, dump_dir: str) -> dict:
    import jax
    import jax.numpy as jnp

    from benchmarks.our_update import compiled_flops
    from largerl_jax.agents import make_agent
    from largerl_jax.envs import make_env
    from largerl_jax.replay.synthetic import random_transitions
    from largerl_jax.training.run_hooks import agent_config_for_run

    env = make_env(cfg.env.name, 1, backend=cfg.env.backend, episode_length=cfg.env.episode_length)
    obs_dim, act_dim = env.spec.obs_dim, env.spec.act_dim
    if hasattr(env, "close"):
        env.close()
    agent = make_agent(agent_config_for_run(cfg), obs_dim, act_dim)
    state = jax.tree.map(jnp.copy, agent.init(jax.random.PRNGKey(0)))
    batch = random_transitions(jax.random.PRNGKey(1), cfg.agent.batch_size, obs_dim, act_dim)
    key = jax.random.PRNGKey(2)
    plain = jax.jit(agent.update, donate_argnums=0)
    flops = compiled_flops(plain.lower(state, batch, key).compile())
    t_plain, state = _time(plain, state, (batch, key), updates)
    one = lambda tree: jax.tree.map(lambda x: x[None], tree)  # noqa: E731
    vmapped = jax.jit(jax.vmap(agent.update), donate_argnums=0)
    t_vmap, _ = _time(vmapped, one(jax.tree.map(jnp.copy, state)), (one(batch), key[None]), updates)
    jax.profiler.start_trace(trace_dir)
    for _ in range(updates):
        state, _ = plain(state, batch, key)
    jax.block_until_ready(state)
    jax.profiler.stop_trace()
    module = "jit_" + getattr(agent.update, "__name__", "update")  # XLA names the module after the function
    table = op_profile.op_table(trace_dir, dump_dir, module, RULES, per=updates)
    return {"config": cfg.name, "obs_dim": obs_dim, "act_dim": act_dim, "batch_size": cfg.agent.batch_size,
            "flops_per_update": flops, "update_ms": round(t_plain * 1e3, 2), "update_ms_vmapped_one_seed":
            round(t_vmap * 1e3, 2), "gflops_per_s": round(flops / t_plain / 1e9, 1) if flops else None,
            "device": str(jax.devices()[0]), **table}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.update_profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--updates", type=int, default=5)
    p.add_argument("--out", default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args, cfg = config_from_args(_parser(), argv)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.updates < 1:
        print("error: --updates must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        dump, trace = os.path.join(tmp, "hlo"), os.path.join(tmp, "trace")
        if not args.worker:  # the dump flags must be set before JAX starts: run again in a child
            env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + op_profile.xla_dump_flags(dump)).strip()}
            proc = subprocess.run([sys.executable, "-m", "benchmarks.update_profile", *argv, "--worker",
                                   f"--out={args.out or ''}"], env={**env, "UPDATE_PROFILE_DUMP": dump})
            return proc.returncode
        dump = os.environ["UPDATE_PROFILE_DUMP"]
        report = profile(cfg, args.updates, trace, dump)
    report["command"] = "python -m benchmarks.update_profile " + " ".join(a for a in argv if a != "--worker"
                                                                          and not a.startswith("--out="))
    print(json.dumps({k: report[k] for k in ("config", "flops_per_update", "update_ms", "update_ms_vmapped_one_seed",
                                             "gflops_per_s", "thread_ms", "thread_ms_total")}, indent=1))
    for row in report["top_ops"]:
        print(f"{row['ms']:8.3f} ms  {row['category']:<8} {row['op'][:36]:<36} {row['meta'][:110]}")
    if args.out:
        write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
