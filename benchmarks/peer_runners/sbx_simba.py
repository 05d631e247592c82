"""sbx's SAC with SimBa networks (``SimbaPolicy``) on Gymnasium HalfCheetah-v4 or Ant-v4, set to
our ``gym_<task>_simba`` config, timed; optionally its deterministic evaluation return.

    python sbx_simba.py --env=HalfCheetah-v4|Ant-v4 [--steps=300] [--warmup=5000] [--untimed=50]
                        [--eval-episodes=0] [--seed=0]

Runs inside the peers' virtualenv made by ``python -m benchmarks.peers``; of this repository it
loads only ``benchmarks/package_versions.py`` (standard library only), by its path.

sbx's defaults differ from the official SimBa (and ours) in many ways; for the side by side
every one that changes the work or the learning is set to ours (agents/simba.py,
experiments/configs/scaling.py):

* widths: actor 1 block of 128, critic 2 blocks of 512, inner 4x (sbx: [256, 256] for both);
* critics: 1 on HalfCheetah (episodes never terminate), 2 with the min on Ant (sbx: 2 always);
* AdamW lr 1e-4, weight decay 1e-2 for every network (sbx: lr 3e-4, optax's wd 1e-4);
* temperature: initial 0.01, target entropy -|A|/2 (sbx: 1.0 and -|A|);
* gamma 0.995 (SimBa's heuristic for 1000-step episodes), tau 0.005, batch 256, 2 gradient
  steps per env step, replay of 1M, ``--warmup`` random steps (5000 in our config);
* observations normalised by running mean and variance: SB3's ``VecNormalize`` (observations
  only, clipped at 10; it stores normalised observations, where SimBa stores raw ones and
  normalises at sampling: the same work per step, different statistics for old rows).

What stays sbx's: Flax's default initialisation of the embedding and heads (SimBa: orthogonal
gain 1), log-std clipped into [-20, 2] (SimBa: tanh-rescaled into [-10, 2]), the temperature
loss on log alpha, and its replay buffer and training loop on the host (one jitted call of
``gradient_steps`` updates per env step). The timing counts env steps with their updates, as
sb3_sbx.py: ``learn()`` with a callback reading the clock at env step ``warmup + untimed`` and at
the end. With ``--eval-episodes``, the policy is evaluated deterministically afterwards on a
fresh env (observations normalised with the training statistics, frozen) and the mean return
is printed too.
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

# our config's settings that sbx takes as arguments (see the docstring)
CRITICS = {"HalfCheetah-v4": 1, "Ant-v4": 2}
GAMMA = 0.995
LR = 1e-4
WEIGHT_DECAY = 1e-2
INIT_TEMPERATURE = 0.01
TARGET_ENTROPY_COEF = -0.5
ACTOR_BLOCKS, CRITIC_BLOCKS = [128], [512, 512]
UPDATES_PER_STEP = 2


def _parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", choices=sorted(CRITICS), required=True)
    p.add_argument("--steps", type=int, default=300, help="timed env steps (2 gradient steps each)")
    p.add_argument("--warmup", type=int, default=5000, help="random-action steps before learning (learning_starts)")
    p.add_argument("--untimed", type=int, default=50, help="training steps run before the clock starts")
    p.add_argument("--eval-episodes", type=int, default=0, help="deterministic evaluation episodes after training")
    p.add_argument("--seed", type=int, default=0)
    return p


def make_env(name: str):
    import gymnasium as gym

    kwargs = {"use_contact_forces": True} if name == "Ant-v4" else {}  # 111 dims, as our gym_ant_* configs
    return gym.make(name, disable_env_checker=True, **kwargs)


def build_model(env_name: str, venv, warmup: int, seed: int):
    import optax
    from sbx import SAC

    act_dim = int(venv.action_space.shape[0])
    policy_kwargs = dict(net_arch={"pi": ACTOR_BLOCKS, "qf": CRITIC_BLOCKS}, n_critics=CRITICS[env_name],
                         optimizer_class=optax.adamw, optimizer_kwargs={"weight_decay": WEIGHT_DECAY})
    return SAC("SimbaPolicy", venv, learning_rate=LR, buffer_size=1_000_000, learning_starts=warmup, batch_size=256,
               tau=0.005, gamma=GAMMA, train_freq=1, gradient_steps=UPDATES_PER_STEP,
               ent_coef=f"auto_{INIT_TEMPERATURE}", target_entropy=TARGET_ENTROPY_COEF * act_dim,
               policy_kwargs=policy_kwargs, verbose=0, seed=seed)


def evaluate(model, train_venv, env_name: str, episodes: int, seed: int) -> list[float]:
    import numpy as np
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    eval_venv = VecNormalize(DummyVecEnv([lambda: make_env(env_name)]), norm_obs=True, norm_reward=False,
                             clip_obs=10.0, training=False)
    eval_venv.obs_rms = train_venv.obs_rms  # the training statistics, frozen
    eval_venv.seed(seed + 1000)
    returns = []
    for _ in range(episodes):
        obs, done, total = eval_venv.reset(), False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, dones, _ = eval_venv.step(action)
            total += float(eval_venv.get_original_reward()[0])
            done = bool(dones[0])
        returns.append(total)
    return [float(np.round(r, 3)) for r in returns]


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.steps < 1 or args.warmup < 256 or args.untimed < 0 or args.eval_episodes < 0:
        raise SystemExit("--steps must be >= 1, --warmup >= 256 (a batch), --untimed and --eval-episodes >= 0")
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    start_at = args.warmup + args.untimed
    total = start_at + args.steps

    venv = VecNormalize(DummyVecEnv([lambda: make_env(args.env)]), norm_obs=True, norm_reward=False, clip_obs=10.0)
    t0 = time.perf_counter()
    model = build_model(args.env, venv, args.warmup, args.seed)
    build_s = time.perf_counter() - t0
    timed_steps, timed_s, learn_s = timed_learn(model, start_at, args.steps)
    import jax

    result = {
        "lib": "sbx", "policy": "SimbaPolicy", "env": args.env,
        "obs_dim": int(venv.observation_space.shape[0]), "act_dim": int(venv.action_space.shape[0]),
        "n_critics": CRITICS[args.env], "learning_starts": args.warmup, "untimed_training_steps": args.untimed,
        "total_timesteps": total, "timed_env_steps": int(timed_steps), "timed_s": round(timed_s, 4),
        "env_steps_per_s": round(timed_steps / timed_s, 2), "learn_s": round(learn_s, 3), "build_s": round(build_s, 3),
        "gradient_steps_done": int(getattr(model, "_n_updates", -1)), "cpu_count": os.cpu_count(),
        "jax_devices": [str(d) for d in jax.devices()],
        "versions": package_versions(["sbx-rl", "stable-baselines3", "jax", "jaxlib", "flax", "optax", "gymnasium",
                                      "mujoco", "numpy"]),
    }
    if args.eval_episodes:
        returns = evaluate(model, venv, args.env, args.eval_episodes, args.seed)
        result["eval_returns"] = returns
        result["eval_return"] = round(sum(returns) / len(returns), 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
