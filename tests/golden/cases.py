"""The fixed set of tiny runs whose metrics records must stay bit-identical across refactors
(issue 18): every agent family and path of the training core, each a few seconds on a CPU.

Each case is a list of ``--config.KEY=VALUE`` style pairs on a named config plus how it runs, so
the same case text works before and after a change to where a setting is declared (a renamed
key changes the case in the same commit, visibly)."""
from __future__ import annotations

import os
import subprocess
import sys

from experiments.configs import get_config
from experiments.overrides import apply_overrides

# Pendulum SAC at 16 units: 4 envs, 1.6K env steps, eval every 400, replay smaller than the run
TINY = [
    ("agent.actor.width", "16"), ("agent.critic.width", "16"), ("agent.batch_size", "64"),
    ("env.num_envs", "4"), ("env.eval_episodes", "2"), ("updates_per_iteration", "2"),
    ("total_env_steps", "1600"), ("warmup_env_steps", "400"), ("replay_capacity", "1000"),
    ("log_every_env_steps", "400"), ("eval_every_env_steps", "400"), ("checkpoint_every_env_steps", "800"),
    ("srank_batch_size", "0"),
]
OFENET = [
    ("agent.features", "ofenet"), ("agent.ofenet.num_layers", "2"), ("agent.ofenet.units", "8"),
    ("agent.ofenet.batch_size", "64"), ("agent.ofenet.pretrain_updates", "20"),
    ("agent.ofenet.passthrough", "diagonal"), ("agent.ofenet.use_target", "False"),
]
XINET = [
    ("agent.pruning.enabled", "True"), ("agent.pruning.warmup_updates", "20"),
    ("agent.pruning.rl_lambda", "0.03"), ("agent.pruning.ofe_lambda", "0.03"),
    ("agent.pruning.pi_lr", "0.02"), ("agent.pruning.shrinks", "2"), ("checkpoint_every_env_steps", "400"),
]
# batch 8: a pixel update's convs cost ~0.4 s per 16 frames on a 2-core CPU, and this run takes 100
PIXELS = [
    ("agent.actor.width", "16"), ("agent.critic.width", "16"), ("agent.batch_size", "8"),
    ("env.eval_episodes", "1"), ("env.episode_length", "60"), ("total_env_steps", "200"),
    ("warmup_env_steps", "100"), ("log_every_env_steps", "100"), ("eval_every_env_steps", "100"),
    ("checkpoint_every_env_steps", "200"), ("replay_capacity", "300"),
]
HOST = [
    ("agent.actor.width", "8"), ("agent.critic.width", "8"), ("agent.batch_size", "8"),
    ("env.num_envs", "2"), ("env.episode_length", "20"), ("env.eval_episodes", "1"),
    ("total_env_steps", "160"), ("warmup_env_steps", "40"), ("replay_capacity", "100"),
    ("log_every_env_steps", "40"), ("eval_every_env_steps", "80"), ("checkpoint_every_env_steps", "80"),
    ("srank_batch_size", "0"),
]

# name -> (config, overrides, seeds, how): how is "run", "resume" (stopped at 800 env steps and
# resumed) or "grid" (two learning-rate points of one vmapped program)
CASES = {
    "sac": ("pendulum_sac", TINY, 2, "run"),
    "td3": ("pendulum_td3", TINY, 2, "run"),
    "sac_v1_ofenet": ("pendulum_sac_v1", TINY + [("agent.value.width", "16")] + OFENET, 2, "run"),
    "xinet_shrink": ("pendulum_sac_v1", TINY + [("agent.value.width", "16")] + OFENET + XINET, 2, "run"),
    "per": ("pendulum_sac", TINY + [("prioritized_replay.enabled", "True")], 2, "run"),
    "resumed": ("pendulum_sac", TINY, 2, "resume"),
    "grid": ("pendulum_sac", TINY, 2, "grid"),
    "pixels": ("pixels_dmc_cartpole_swingup_mlp2", PIXELS, 1, "run"),
    "host_gym": ("gym_hopper_sac", HOST, 2, "run"),
}
RENDERED = {"pixels"}  # cases whose results also depend on the OpenGL renderer
# Cases whose time is running, not compiling, run in their own interpreter at these XLA flags
# when the suite compiles at its own fast-compile flags (tests/xla_test_flags.py), and compare
# with a record set made under them. The pixel case's convs run slowly at the lowest backend
# level with the legacy emitters: 113 s there, 68 s at XLA's defaults (its whole run, alone on
# the 2-core dev VM, 2026-12-06).
OWN_XLA_FLAGS = {"pixels": ""}
# Packages beyond fingerprint.CORE whose numbers a case's results depend on: its simulator
# (the Pendulum cases step our own JAX env and depend on none).
SIMULATOR = {"pixels": ("mujoco", "dm_control"), "host_gym": ("mujoco", "gymnasium")}
GRID_AXIS = "--axis=lr=0.0003,0.001"

# Where behaviour has since changed on purpose (issue 19: the dmc configs take DrQ's tanh
# log-std bound, orthogonal init and LayerNorm eps 1e-5, and the pixel agent DrQ's unhalved MSE;
# XiNet rounds one update earlier), the
# case pins the reference's behaviour back: each pair is applied when the config has that key (the reference commit lacks
# the new ones, and there the old behaviour is the only one).
PINNED = {
    # the rounding moved one update earlier (to the last update before 0.8 T): the reference
    # derived update 440 (= (1280 - 400) / 4 envs x 2 updates per iteration)
    "xinet_shrink": [("agent.pruning.round_update", "440")],
    "pixels": [("agent.critic_loss", "mse"), ("agent.log_std_bound", "clip"), ("agent.actor.kernel_init", "lecun_normal"),
               ("agent.critic.kernel_init", "lecun_normal"), ("agent.actor.ln_epsilon", "1e-06"),
               ("agent.critic.ln_epsilon", "1e-06"),
               # one seed now runs unvmapped by default (training.seed_map), the reference vmapped
               ("one_seed_unbatched", "False")],
}


def xla_flags(name: str) -> str:
    """The XLA_FLAGS case ``name`` runs under from this process: its own (OWN_XLA_FLAGS) when
    this process has the suite's fast-compile flags, else this process's (a user's own flags
    hold for every case)."""
    # imported here: this module also runs inside the reference commit's tree (record.py), whose
    # tests/ may lack xla_test_flags; only this tree's processes call xla_flags
    from xla_test_flags import FAST_COMPILE

    here = os.environ.get("XLA_FLAGS", "").strip()
    return OWN_XLA_FLAGS[name].strip() if name in OWN_XLA_FLAGS and here == FAST_COMPILE else here


def _has(cfg, key: str) -> bool:
    node = cfg
    for part in key.split("."):
        if part not in node:
            return False
        node = node[part]
    return True
VOLATILE = ("wall_time_s",)  # fields that measure the machine, not the run


def config(name: str):
    base, overrides, _, _ = CASES[name]
    cfg = get_config(base)
    return apply_overrides(cfg, list(overrides) + [(k, v) for k, v in PINNED.get(name, []) if _has(cfg, k)])


def _read(path: str) -> list[dict]:
    import json

    with open(path) as f:
        return [json.loads(line) for line in f]


def run_case(name: str, workdir: str) -> list[dict]:
    """``records(name, workdir)`` under the case's XLA flags (``xla_flags``): in this process
    when they are this process's, else in a fresh interpreter (tests/golden/record.py) that
    keeps its run in ``workdir``."""
    flags = xla_flags(name)
    if flags == os.environ.get("XLA_FLAGS", "").strip():
        return records(name, workdir)
    out = workdir + ".records"
    env = dict(os.environ, XLA_FLAGS=flags)
    done = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "record.py"),
                           f"--out={out}", f"--workdir={workdir}", name], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"case {name} under XLA_FLAGS={flags!r} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return _read(os.path.join(out, f"{name}.jsonl"))


def records(name: str, workdir: str) -> list[dict]:
    """Runs case ``name`` in ``workdir`` and returns its metrics records (every point's, for a
    grid), the machine-dependent fields left out."""
    from largerl_jax.training import run

    base, overrides, seeds, how = CASES[name]
    if how == "grid":
        from experiments import grid as grid_cli

        flags = [f"--config.{k}={v}" for k, v in overrides]
        rc = grid_cli.main([f"--config={base}", *flags, GRID_AXIS, f"--seeds={seeds}", f"--workdir={workdir}",
                            "--no-progress"])
        if rc != 0:
            raise RuntimeError(f"grid case exited {rc}")
        out = []
        for point in sorted(os.listdir(workdir)):
            path = os.path.join(workdir, point, "metrics.jsonl")
            if os.path.exists(path):
                out += [{"point": point, **r} for r in _read(path)]
    elif how == "resume":
        cfg = config(name)
        run(cfg, workdir=workdir, num_seeds=seeds, progress=False, stop_after_env_steps=800)
        run(cfg, workdir=workdir, num_seeds=seeds, resume=True, progress=False)
        out = _read(os.path.join(workdir, "metrics.jsonl"))
    else:
        out = run(config(name), workdir=workdir, num_seeds=seeds, progress=False)
        assert out == _read(os.path.join(workdir, "metrics.jsonl"))
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in out]
