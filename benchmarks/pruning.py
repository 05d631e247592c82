"""What physical shrinking buys: gradient steps/s and acting latency of a Prune-B agent before
and after its dead units are removed, against the OFE-Big agent it starts from, and the latency
of the exported NumPy policy (pruning paper; issue 10).

    python -m benchmarks.pruning [--task=halfcheetah] [--keep-phi-s=0.1] [--keep-phi-sa=0.45]
        [--keep-rl=0.2] [--updates=20] [--act-calls=200] [--repeats=5] [--out=FILE.json]

The pruned agent is ``gym_TASK_xinet_prune_b`` with a synthetic pruning pattern: in every layer
the stated fraction of units stays alive (phi_s, phi_sa, and the hidden layers of the policy,
V and both Qs), and the survivors' gates are rounded to 1, the state of a run after the
rounding. The defaults give dR / tR near the paper's Prune-B on HalfCheetah (16% / 47%); the
script prints the pattern's own ratios. One gradient step is OFENet's update plus the SAC
update at batch 256, as in training; acting is the deterministic policy (OFENet phi_s, then the
policy) on 1 or 64 observations. All timings come from one process, interleaved per repeat,
median of repeats; CPU figures are noisy, so compare ratios within one run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.package_versions import package_versions
from benchmarks.report_io import write_report
from experiments.configs import get_config
from experiments.inspect import counts_with_baseline
from largerl_jax.agents import make_agent
from largerl_jax.agents import pruned_param_counts, shrink_agent_state
from largerl_jax.envs import make_env
from largerl_jax.export import load_policy
from largerl_jax.export.writer import policy_contents, write_policy
from largerl_jax.features.state import num_layers
from largerl_jax.replay.buffer import Transition
from largerl_jax.training.run_hooks import with_overrides


def _parser():
    p = argparse.ArgumentParser(prog="python -m benchmarks.pruning", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="halfcheetah", choices=("halfcheetah", "ant", "hopper", "walker2d"))
    p.add_argument("--keep-phi-s", type=float, default=0.1)
    p.add_argument("--keep-phi-sa", type=float, default=0.45)
    p.add_argument("--keep-rl", type=float, default=0.2)
    p.add_argument("--updates", type=int, default=20, help="gradient steps per timed repeat")
    p.add_argument("--act-calls", type=int, default=200, help="act calls per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default="benchmarks/results/pruning-cpu.json")
    return p


def _pattern(gates, fraction: float, rng):
    """Gates with ``fraction`` of each layer's units alive (pi = 1) and the rest dead."""
    alive = []
    for a in gates.alive:
        n = a.shape[-1]
        keep = max(1, round(fraction * n))
        rows = np.zeros(a.shape, bool).reshape(-1, n)
        for row in rows:
            row[rng.choice(n, keep, replace=False)] = True
        alive.append(jnp.asarray(rows.reshape(a.shape)))
    return gates.replace(alive=tuple(alive), pi=tuple(x.astype(jnp.float32) for x in alive))


def _pruned_state(agent, args, key):
    state = agent.init(key)
    rng = np.random.default_rng(0)
    n_s, _ = num_layers(state.ofe.module)
    ofe = state.ofe.gates
    pruned_s = _pattern(ofe.replace(alive=ofe.alive[:n_s], pi=ofe.pi[:n_s]), args.keep_phi_s, rng)
    pruned_sa = _pattern(ofe.replace(alive=ofe.alive[n_s:], pi=ofe.pi[n_s:]), args.keep_phi_sa, rng)
    ofe = ofe.replace(alive=pruned_s.alive + pruned_sa.alive, pi=pruned_s.pi + pruned_sa.pi)
    inner = {k: _pattern(g, args.keep_rl, rng) for k, g in state.agent.gates.items()}
    return state.replace(ofe=state.ofe.replace(gates=ofe), agent=state.agent.replace(gates=inner))


def _shrunk(cfg, agent_cfg, state, obs_dim, act_dim):
    batched = jax.tree.map(lambda x: x[None], state)
    small, widths = shrink_agent_state(agent_cfg, batched, obs_dim, act_dim)
    new_cfg = with_overrides(cfg, widths)
    agent = make_agent(new_cfg.agent, obs_dim, act_dim)
    abstract = jax.eval_shape(agent.init, jax.random.PRNGKey(0))
    small = jax.tree.unflatten(jax.tree.structure(abstract), [x[0] for x in jax.tree.leaves(small)])
    return agent, small, widths


def _batch(obs_dim, act_dim, size, key):
    k = jax.random.split(key, 3)
    return Transition(
        obs=jax.random.normal(k[0], (size, obs_dim)),
        action=jax.random.uniform(k[1], (size, act_dim), minval=-1, maxval=1),
        reward=jnp.zeros(size),
        next_obs=jax.random.normal(k[2], (size, obs_dim)),
        terminated=jnp.zeros(size),
        truncated=jnp.zeros(size),
    )


def _stepper(agent, state, batch, n):
    """A jitted program of ``n`` gradient steps (OFENet + SAC) on one batch."""

    def steps(s, key):
        def body(s, k):
            k1, k2 = jax.random.split(k)
            s, _ = agent.aux_update(s, batch, k1)
            s, _ = agent.update(s, batch, k2)
            return s, None

        return jax.lax.scan(body, s, jax.random.split(key, n))[0]

    fn = jax.jit(steps)
    jax.block_until_ready(fn(state, jax.random.PRNGKey(0)))  # compile
    return lambda: jax.block_until_ready(fn(state, jax.random.PRNGKey(1)))


def _actor(agent, state, obs, calls):
    act = jax.jit(lambda s, o: agent.act(s, o, jax.random.PRNGKey(0), True))
    jax.block_until_ready(act(state, obs))

    def run():
        for _ in range(calls):
            out = act(state, obs)
        jax.block_until_ready(out)

    return run


def _numpy_actor(policy, obs, calls):
    def run():
        for _ in range(calls):
            policy(obs)

    return run


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    cfg_big = get_config(f"gym_{args.task}_xinet_ofe_big")
    cfg_prune = get_config(f"gym_{args.task}_xinet_prune_b")
    cfg_prune.agent.pruning.round_update = 0  # rounded already: the state after 80% of a run
    env = make_env(cfg_big.env.name, 1)
    obs_dim, act_dim = env.spec.obs_dim, env.spec.act_dim
    env.close()
    batch = _batch(obs_dim, act_dim, cfg_big.agent.batch_size, jax.random.PRNGKey(2))

    big = make_agent(cfg_big.agent, obs_dim, act_dim)
    big_state = big.init(jax.random.PRNGKey(0))
    gated = make_agent(cfg_prune.agent, obs_dim, act_dim)
    gated_state = _pruned_state(gated, args, jax.random.PRNGKey(0))
    small, small_state, widths = _shrunk(cfg_prune, cfg_prune.agent, gated_state, obs_dim, act_dim)
    counts = {k: float(v[0]) for k, v in pruned_param_counts(cfg_prune.agent, jax.tree.map(lambda x: x[None], gated_state), obs_dim, act_dim).items()}

    policies = {}
    for name, (agent, state) in {"ofe_big": (big, big_state), "prune_b_shrunk": (small, small_state)}.items():
        path = f"/tmp/largerl_pruning_bench_{name}.npz"
        write_policy(path, policy_contents(agent, state, (obs_dim,), name))
        policies[name] = load_policy(path)

    variants = {"ofe_big": (big, big_state), "prune_b_masked": (gated, gated_state), "prune_b_shrunk": (small, small_state)}
    timers = {}
    for name, (agent, state) in variants.items():
        timers[("train", name)] = (_stepper(agent, state, batch, args.updates), args.updates)
        for b in (1, 64):
            obs = jnp.asarray(np.random.default_rng(b).standard_normal((b, obs_dim)), jnp.float32)
            timers[(f"act_{b}", name)] = (_actor(agent, state, obs, args.act_calls), args.act_calls)
    for name, policy in policies.items():
        for b in (1, 64):
            obs = np.random.default_rng(b).standard_normal((b, obs_dim)).astype(np.float32)
            timers[(f"act_{b}", f"{name}_numpy")] = (_numpy_actor(policy, obs, args.act_calls), args.act_calls)

    samples = {key: [] for key in timers}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit every variant alike
        for key, (fn, n) in timers.items():
            t0 = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - t0) / n)
    median = {f"{kind}/{name}": statistics.median(v) for (kind, name), v in samples.items()}
    report = {
        "command": "python -m benchmarks.pruning " + " ".join(argv if argv is not None else sys.argv[1:]),
        "task": args.task,
        "device": str(jax.devices()[0]),
        "date": time.strftime("%Y-%m-%d"),
        "versions": package_versions(["jax", "jaxlib", "flax", "numpy"]),
        "pattern": {"keep_phi_s": args.keep_phi_s, "keep_phi_sa": args.keep_phi_sa, "keep_rl": args.keep_rl,
                    "shrunk_widths": {k: list(v) for k, v in widths.items()}, "counts": counts},
        "seconds": median,
        "samples": {f"{kind}/{name}": v for (kind, name), v in samples.items()},
    }
    baseline = counts_with_baseline(cfg_prune)["baseline"]
    report["pattern"]["dR"] = counts["params/deploy"] / baseline["deploy"]
    report["pattern"]["tR"] = counts["params/train"] / baseline["train"]
    print(f"synthetic Prune-B pattern on {args.task}: deploy {counts['params/deploy']:,.0f} (dR {100 * report['pattern']['dR']:.0f}%), "
          f"train {counts['params/train']:,.0f} (tR {100 * report['pattern']['tR']:.0f}%); shrunk widths {widths}")
    print(f"{'':<22}{'grad steps/s':>14}{'act b=1 (ms)':>14}{'act b=64 (ms)':>15}")
    for name in ("ofe_big", "prune_b_masked", "prune_b_shrunk", "ofe_big_numpy", "prune_b_shrunk_numpy"):
        train = median.get(f"train/{name}")
        steps = f"{1 / train:14.1f}" if train else f"{'-':>14}"
        print(f"{name:<22}{steps}{1e3 * median[f'act_1/{name}']:14.3f}{1e3 * median[f'act_64/{name}']:15.3f}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
