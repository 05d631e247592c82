"""Brax's own SAC trainer (``brax.training.agents.sac.train``) on a Brax task, timed by its own
``training/sps``; prints one JSON object: the rates and every setting that equal work depends on.

    python benchmarks/peer_runners/brax_sac.py --task=ant --backend=mjx --num-envs=64
        --updates=8 --batch=256 --iterations=200 --epochs=3 [--seeds=1] [--replay=1000000]

Runs in our virtualenv (Brax is one of our dependencies) but imports nothing of ours, so what it
measures is Brax's code alone. Each of ``--epochs`` timed epochs is ``--iterations`` training
steps (one vectorized env step of ``--num-envs`` envs, then ``--updates`` gradient steps of
``--batch``); Brax compiles its epoch on the first call, so one more epoch runs first and is not
counted. Brax evaluates between epochs (excluded from its ``training/sps``); the evaluation here
is one env, its cost is not timed. ``--seeds=K`` runs the trainer K times one after another, the
way its users run seeds, and reports each run's wall time (compilation included) as well.

Brax 0.14.2's trainer calls ``jax.device_put_replicated``, which JAX 0.10 no longer exports; the
function still lives in ``jax._src.api`` and is put back before the trainer is imported.
"""
from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time


def _restore_device_put_replicated(jax) -> bool:
    if hasattr(jax, "device_put_replicated"):
        return False
    from jax._src import api

    jax.device_put_replicated = api.device_put_replicated
    return True


def _param_count(tree) -> int:
    import jax
    import numpy as np

    return int(sum(np.size(x) for x in jax.tree.leaves(tree)))


def _settings(env, network_factory, args) -> dict:
    """What equal work depends on, read from the objects the trainer is given."""
    import jax

    from brax.training.agents.sac import networks as sac_networks

    nets = network_factory(observation_size=env.observation_size, action_size=env.action_size)
    key = jax.random.PRNGKey(0)
    policy = nets.policy_network.init(key)
    q = nets.q_network.init(key)
    opt = env.sys.opt
    return {
        "env_class": f"{type(env).__module__}.{type(env).__name__}",
        "backend": env.backend,
        "obs_dim": int(env.observation_size),
        "act_dim": int(env.action_size),
        "n_frames": int(env._n_frames),
        "dt": float(env.dt),
        "solver": int(opt.solver),
        "iterations": int(opt.iterations),
        "ls_iterations": int(opt.ls_iterations),
        "num_envs": args.num_envs,
        "updates_per_iteration": args.updates,
        "batch_size": args.batch,
        "replay_capacity": args.replay,
        "learning_rate": args.lr,
        "actor_params": _param_count(policy),
        "critic_params": _param_count(q),
        "num_q": len(q["params"]),  # one MLP per critic
        "hidden": [256, 256],
        "distribution": type(nets.parametric_action_distribution).__name__,
    }


def _scope(name: str, fn):
    import jax

    @functools.wraps(fn)
    def scoped(*a, **k):
        with jax.named_scope(name):
            return fn(*a, **k)

    return scoped


def _name_brax_stages() -> None:
    """Named scopes around Brax's acting, replay and normaliser calls, so a trace's ops can be
    told apart by stage (``benchmarks.iteration_profile``); they change no computation."""
    from brax.training import acting, replay_buffers
    from brax.training.acme import running_statistics

    # The trainer looks these up as module attributes when it traces its programs.
    acting.actor_step = _scope("act_env", acting.actor_step)
    running_statistics.update = _scope("normalizer", running_statistics.update)
    queue = replay_buffers.UniformSamplingQueue
    queue.insert = _scope("replay_insert", queue.insert)
    queue.sample = _scope("replay_sample", queue.sample)


def _tracing_progress(trace_dir, sps):
    """A progress_fn that traces the second timed epoch: Brax calls it after each epoch's
    evaluation, so starting the trace there and stopping it one call later covers one epoch
    (and one evaluation, which the profile leaves out by module name)."""
    import jax

    def progress(step, metrics):
        if "training/sps" not in metrics:
            return
        sps.append(metrics["training/sps"])
        if len(sps) == 2:
            jax.profiler.start_trace(trace_dir)
        elif len(sps) == 3:
            jax.profiler.stop_trace()

    return progress


def run_once(args, seed: int) -> dict:
    import jax

    restored = _restore_device_put_replicated(jax)
    from brax import envs
    from brax.training.agents.sac import networks as sac_networks
    from brax.training.agents.sac import train as sac_train

    if args.trace_dir:
        _name_brax_stages()

    env = envs.get_environment(args.task, backend=args.backend)
    network_factory = functools.partial(sac_networks.make_sac_networks, hidden_layer_sizes=(256, 256))
    settings = _settings(env, network_factory, args)
    per_epoch = args.iterations * args.num_envs
    prefill = args.prefill_iterations * args.num_envs
    epochs = args.epochs + 1  # the first one compiles
    sps = []
    t0 = time.perf_counter()
    sac_train.train(
        environment=env,
        num_timesteps=prefill + epochs * per_epoch,
        episode_length=args.episode_length,
        num_envs=args.num_envs,
        num_eval_envs=1,
        learning_rate=args.lr,
        discounting=0.99,
        seed=seed,
        batch_size=args.batch,
        num_evals=epochs + 1,
        reward_scaling=1.0,
        tau=0.005,
        min_replay_size=prefill,
        max_replay_size=args.replay,
        grad_updates_per_step=args.updates,
        network_factory=network_factory,
        progress_fn=(_tracing_progress(args.trace_dir, sps) if args.trace_dir
                     else lambda step, m: sps.append(m["training/sps"]) if "training/sps" in m else None),
    )
    wall = time.perf_counter() - t0
    timed = sps[1:]
    if len(timed) != args.epochs:
        raise SystemExit(f"expected {args.epochs + 1} epochs from Brax's trainer, got {len(sps)}")
    return {"seed": seed, "wall_s": round(wall, 2), "env_steps_per_s_all_epochs": [round(s, 1) for s in sps],
            "env_steps_per_s": round(statistics.median(timed), 1),
            "timed_s": round(sum(per_epoch / s for s in timed), 3), "restored_device_put_replicated": restored,
            "settings": settings}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="ant")
    p.add_argument("--backend", default="mjx")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--updates", type=int, default=8)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--iterations", type=int, default=200, help="training steps per timed epoch")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (after one compiling epoch)")
    p.add_argument("--prefill-iterations", type=int, default=8, help="random-action steps before training")
    p.add_argument("--replay", type=int, default=1_000_000)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--episode-length", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=1, help="trainer runs one after another")
    p.add_argument("--trace-dir", default=None,
                   help="write a JAX profiler trace of the second timed epoch here (needs --epochs >= 2)")
    args = p.parse_args(argv)
    if args.trace_dir and args.epochs < 2:
        p.error("--trace-dir needs --epochs >= 2")
    runs = [run_once(args, seed) for seed in range(args.seeds)]
    out = {
        "env_steps_per_s": round(statistics.median(r["env_steps_per_s"] for r in runs), 1),
        "wall_s_total": round(sum(r["wall_s"] for r in runs), 2),
        "timed_s_total": round(sum(r["timed_s"] for r in runs), 3),
        "runs": runs,
        "settings": runs[0]["settings"],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
