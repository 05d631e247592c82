"""SAC on Gymnasium Ant-v4 (111-dim observations) with Stable-Baselines3 or sbx, timed.

    python sb3_sbx.py --lib=sb3|sbx [--steps=2000] [--warmup=1000] [--untimed=200] [--seed=0]

Runs inside the peers' virtualenv made by ``python -m benchmarks.peers``; of this repository it
loads only ``benchmarks/package_versions.py`` (standard library only), by its path. The setup
is the one of our ``gym_ant_sac`` config: one env, 2x256 ReLU MLP actor and twin critics,
batch 256, replay of 1M transitions, one gradient step per env step, learned temperature
(target entropy -|A|), Adam 3e-4, gamma 0.99, tau 0.005, ``--warmup`` random-action steps
before learning starts.

``learn(total_timesteps = warmup + untimed + steps)`` runs with a callback that reads the clock
when env step ``warmup + untimed`` has been collected (the first ``untimed`` training steps
absorb sbx's JIT compilation and the allocator's warm-up) and again when training ends. It
prints one JSON line: env steps/s over those last ``steps`` env steps, each with its gradient
step, plus the library versions and the thread settings.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from runpy import run_path

# Loaded by its path rather than imported, so that benchmarks/ (whose modules could shadow the
# peers' packages) stays off sys.path.
package_versions = run_path(str(Path(__file__).resolve().parent.parent / "package_versions.py"))["package_versions"]
timed_learn = run_path(str(Path(__file__).resolve().parent / "learn_clock.py"))["timed_learn"]


def _parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lib", choices=("sb3", "sbx"), required=True)
    p.add_argument("--steps", type=int, default=2000, help="timed env steps (one gradient step each)")
    p.add_argument("--warmup", type=int, default=1000, help="random-action steps before learning (learning_starts)")
    p.add_argument("--untimed", type=int, default=200, help="training steps run before the clock starts")
    p.add_argument("--seed", type=int, default=0)
    return p


def make_env():
    import gymnasium as gym

    # As our gym_ant_sac config: Ant-v4 with contact forces in the observation (111 dims).
    env = gym.make("Ant-v4", use_contact_forces=True, disable_env_checker=True)
    if env.observation_space.shape != (111,):
        raise SystemExit(f"expected Ant-v4 observations of 111 dims, got {env.observation_space.shape}")
    return env


def build_model(lib: str, env, warmup: int, seed: int):
    common = dict(
        learning_rate=3e-4,
        buffer_size=1_000_000,
        learning_starts=warmup,
        batch_size=256,
        tau=0.005,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        ent_coef="auto",  # learned temperature, initial value 1.0
        target_entropy="auto",  # -|A|
        verbose=0,
        seed=seed,
    )
    if lib == "sb3":
        import torch
        from stable_baselines3 import SAC

        policy_kwargs = dict(net_arch=[256, 256], activation_fn=torch.nn.ReLU, n_critics=2)
        return SAC("MlpPolicy", env, policy_kwargs=policy_kwargs, device="cpu", **common)
    import flax.linen as nn
    from sbx import SAC

    policy_kwargs = dict(net_arch=[256, 256], activation_fn=nn.relu, n_critics=2)
    return SAC("MlpPolicy", env, policy_kwargs=policy_kwargs, **common)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.steps < 1 or args.warmup < 1 or args.untimed < 0:
        raise SystemExit("--steps and --warmup must be >= 1 and --untimed >= 0")
    import torch

    torch.set_num_threads(os.cpu_count())
    start_at = args.warmup + args.untimed
    total = start_at + args.steps

    env = make_env()
    t0 = time.perf_counter()
    model = build_model(args.lib, env, args.warmup, args.seed)
    build_s = time.perf_counter() - t0
    timed_steps, timed_s, learn_s = timed_learn(model, start_at, args.steps)
    result = {
        "lib": args.lib,
        "env": "Ant-v4 (use_contact_forces=True)",
        "obs_dim": int(env.observation_space.shape[0]),
        "act_dim": int(env.action_space.shape[0]),
        "learning_starts": args.warmup,
        "untimed_training_steps": args.untimed,
        "total_timesteps": total,
        "timed_env_steps": int(timed_steps),
        "timed_s": round(timed_s, 4),
        "env_steps_per_s": round(timed_steps / timed_s, 2),
        "learn_s": round(learn_s, 3),
        "build_s": round(build_s, 3),
        "gradient_steps_done": int(getattr(model, "_n_updates", -1)),
        "torch_num_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "versions": package_versions(
            ["stable-baselines3", "sbx-rl", "torch", "jax", "jaxlib", "flax", "optax", "gymnasium", "mujoco", "numpy"]
        ),
    }
    if args.lib == "sbx":
        import jax

        result["jax_devices"] = [str(d) for d in jax.devices()]
    else:
        result["torch_device"] = str(model.device)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
