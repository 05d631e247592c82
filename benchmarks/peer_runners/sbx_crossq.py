"""sbx's CrossQ on Gymnasium HalfCheetah-v4 or Ant-v4, set to our ``gym_<task>_crossq`` config with
its critics at sbx's width (2 x 1024), timed; optionally its deterministic evaluation return.

    python sbx_crossq.py --env=HalfCheetah-v4|Ant-v4 [--steps=300] [--warmup=5000] [--untimed=50]
                         [--eval-episodes=0] [--seed=0]

Runs inside the peers' virtualenv made by ``python -m benchmarks.peers``; of this repository it
loads only ``benchmarks/package_versions.py`` and ``learn_clock.py`` (standard library only), by
their paths.

sbx 0.28's CrossQ already is the authors' method at the same settings as ours in most ways: actor
2 x 256 and critics 2 x 1024 (sbx's width, which the side by side gives ours), ReLU, batch
renormalization on the input and after every activation of both (momentum 0.99, 100,000 warm-up
steps), one joint training-mode critic pass, no target network, Adam lr 1e-3 with b1 0.5, policy
delay 3, UTD 1, batch 256, gamma 0.99, initial temperature 1, target entropy -|A|, log-std
clipped into [-20, 2]. Set to ours: ``learning_starts`` (sbx: 100) to ``--warmup`` random steps
(5000 in our config). What stays sbx's: Flax's default initialisation (ours: the torso's
lecun_normal, the same), the temperature loss on log alpha (ours: on alpha, SAC 2018b's), its
BatchRenorm (sbx/common/jax_layers.py: r in [1/3, 3], d in [-5, 5] constant after the warm-up,
as ours), and its replay buffer and training loop on the host (one jitted call per env step). The timing counts env steps with their updates, as
sb3_sbx.py: ``learn()`` with a callback reading the clock at env step ``warmup + untimed`` and at
the end. With ``--eval-episodes``, the policy is evaluated deterministically afterwards on a
fresh env and the mean return is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from runpy import run_path

package_versions = run_path(str(Path(__file__).resolve().parent.parent / "package_versions.py"))["package_versions"]
timed_learn = run_path(str(Path(__file__).resolve().parent / "learn_clock.py"))["timed_learn"]

ENVS = ("HalfCheetah-v4", "Ant-v4")
ACTOR_WIDTHS, CRITIC_WIDTHS = [256, 256], [1024, 1024]
LR = 1e-3
ADAM_B1 = 0.5
POLICY_DELAY = 3
GAMMA = 0.99
BATCH = 256


def _parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", choices=ENVS, required=True)
    p.add_argument("--steps", type=int, default=300, help="timed env steps (one gradient step each)")
    p.add_argument("--warmup", type=int, default=5000, help="random-action steps before learning (learning_starts)")
    p.add_argument("--untimed", type=int, default=50, help="training steps run before the clock starts")
    p.add_argument("--eval-episodes", type=int, default=0, help="deterministic evaluation episodes after training")
    p.add_argument("--seed", type=int, default=0)
    return p


def make_env(name: str):
    import gymnasium as gym

    kwargs = {"use_contact_forces": True} if name == "Ant-v4" else {}  # 111 dims, as our gym_ant_* configs
    return gym.make(name, disable_env_checker=True, **kwargs)


def build_model(env, warmup: int, seed: int):
    import optax
    from sbx import CrossQ

    policy_kwargs = dict(net_arch={"pi": ACTOR_WIDTHS, "qf": CRITIC_WIDTHS}, optimizer_class=optax.adam,
                         optimizer_kwargs={"b1": ADAM_B1})
    return CrossQ("MlpPolicy", env, learning_rate=LR, buffer_size=1_000_000, learning_starts=warmup, batch_size=BATCH,
                  gamma=GAMMA, train_freq=1, gradient_steps=1, policy_delay=POLICY_DELAY, ent_coef="auto_1.0",
                  target_entropy="auto", policy_kwargs=policy_kwargs, verbose=0, seed=seed)


def evaluate(model, env_name: str, episodes: int, seed: int) -> list[float]:
    env = make_env(env_name)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + 1000 + i)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(round(total, 3))
    return returns


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.steps < 1 or args.warmup < BATCH or args.untimed < 0 or args.eval_episodes < 0:
        raise SystemExit("--steps must be >= 1, --warmup >= 256 (a batch), --untimed and --eval-episodes >= 0")
    start_at = args.warmup + args.untimed
    total = start_at + args.steps
    env = make_env(args.env)
    t0 = time.perf_counter()
    model = build_model(env, args.warmup, args.seed)
    build_s = time.perf_counter() - t0
    timed_steps, timed_s, learn_s = timed_learn(model, start_at, args.steps)
    import jax

    result = {
        "lib": "sbx", "policy": "CrossQ MlpPolicy", "env": args.env,
        "obs_dim": int(env.observation_space.shape[0]), "act_dim": int(env.action_space.shape[0]),
        "critic_widths": CRITIC_WIDTHS, "learning_starts": args.warmup, "untimed_training_steps": args.untimed,
        "total_timesteps": total, "timed_env_steps": int(timed_steps), "timed_s": round(timed_s, 4),
        "env_steps_per_s": round(timed_steps / timed_s, 2), "learn_s": round(learn_s, 3), "build_s": round(build_s, 3),
        "gradient_steps_done": int(getattr(model, "_n_updates", -1)), "cpu_count": os.cpu_count(),
        "jax_devices": [str(d) for d in jax.devices()],
        "versions": package_versions(["sbx-rl", "stable-baselines3", "jax", "jaxlib", "flax", "optax", "gymnasium",
                                      "mujoco", "numpy"]),
    }
    if args.eval_episodes:
        returns = evaluate(model, args.env, args.eval_episodes, args.seed)
        result["eval_returns"] = returns
        result["eval_return"] = round(sum(returns) / len(returns), 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
