"""Run hooks are generic: a hook declared here, in a test file, changes an agent setting after a
chunk (the run rebuilds its programs), adds a statistic to every evaluation record and keeps its
override in checkpoint metadata, from which a resumed run and ``open_run`` rebuild the agent,
without any other file knowing it."""
import json
import os

import jax.numpy as jnp

from largerl_jax.agents import RunHook, register_run_hook
from largerl_jax.training import run
from largerl_jax.training.run_folder import open_run

from test_runner import _strip

NAME = "toy_hook_run"  # the hook acts on runs of this config name only (the registry is global)
TAU = 0.5


def _reshape(cfg, state, obs_dim, act_dim):
    return state, {"tau": TAU}  # same shapes, another Polyak rate from here on


HOOK = register_run_hook(RunHook(
    name="toy_tau_switch",
    active=lambda cfg: cfg.name == NAME,
    meta_key="toy_tau",
    due=lambda cfg, start, end, last: start < 800 <= end,
    reshape=_reshape,
    evaluation=lambda cfg, state, obs_dim, act_dim: {"toy/tau": jnp.full(state.step.shape, cfg.agent.tau)},
))


def test_a_hook_reshapes_records_and_survives_resume(tiny_pendulum, tmp_path):
    cfg = tiny_pendulum()
    cfg.name = NAME
    full = run(cfg, workdir=str(tmp_path / "full"), num_seeds=1, progress=False)
    taus = [(r["env_steps"], round(r["toy/tau"], 6)) for r in full]  # float32 statistics
    assert taus == [(400, cfg.agent.tau), (800, TAU), (1200, TAU), (1600, TAU)]
    meta = json.load(open(os.path.join(tmp_path, "full", "checkpoints", "1600", "meta", "metadata")))
    assert meta["toy_tau"] == {"tau": TAU}
    folder = open_run(str(tmp_path / "full"))
    assert folder.restore(0).agent is not None  # rebuilt at the checkpoint's settings

    part = tmp_path / "part"
    run(cfg, workdir=str(part), num_seeds=1, progress=False, stop_after_env_steps=800)
    resumed = run(cfg, workdir=str(part), num_seeds=1, resume=True, progress=False)
    assert _strip(resumed) == _strip(full)  # the override came back from the checkpoint
