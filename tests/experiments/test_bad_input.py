"""The bad-input catalogue (issue 8, section 4), one parametrised test with one case per kind:
every kind of bad input the CLI can meet gives exit code 2 and one clear 'error:' line, no
traceback, and, except for a disk that fills during the run, nothing is compiled first."""
import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from jax import monitoring

from experiments import run as run_cli
from largerl_jax.training.run_files import metrics_io
TINY = [
    "--config=pendulum_sac", "--no-progress",
    "--config.agent.actor.width=16", "--config.agent.critic.width=16", "--config.agent.batch_size=64",
    "--config.total_env_steps=800", "--config.warmup_env_steps=400", "--config.replay_capacity=1000",
    "--config.log_every_env_steps=400", "--config.eval_every_env_steps=400", "--config.env.eval_episodes=2",
    "--config.checkpoint_every_env_steps=400",
]

# A program compiled by XLA, or fetched ready-made from the persistent compilation cache that
# tests/conftest.py turns on: either way the run got as far as building a program.
_PROGRAM_EVENTS = ("/jax/core/compile/backend_compile_duration", "/jax/compilation_cache/cache_retrieval_time_sec")
_compiles = []
monitoring.register_event_duration_secs_listener(
    lambda name, *_, **__: _compiles.append(name) if name in _PROGRAM_EVENTS else None
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A complete tiny run (checkpoints at env steps 400 and 800) to resume from."""
    workdir = str(tmp_path_factory.mktemp("finished") / "run")
    assert run_cli.main([*TINY, "--seeds=2", f"--workdir={workdir}"]) == 0
    return workdir


def _copy(src: str, dst) -> str:
    out = str(dst / "copy")
    shutil.copytree(src, out)
    return out


def _edit_config(workdir: str, edit) -> None:
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
        saved = json.load(f)
    edit(saved)
    with open(path, "w") as f:
        json.dump(saved, f)


def _no_gymnasium(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gymnasium" else real(name, *a))


def _different_shapes(tmp_path, finished_run):
    # the saved config says width 32, as the resume does, but the checkpoints hold width 16
    workdir = _copy(finished_run, tmp_path)
    _edit_config(workdir, lambda c: c["agent"]["actor"].update(width=32))
    return [*TINY, "--config.agent.actor.width=32", "--seeds=2", f"--workdir={workdir}", "--resume"]


def _other_version(tmp_path, finished_run):
    workdir = _copy(finished_run, tmp_path)
    _edit_config(workdir, lambda c: c.update(_package_version="0.0.1"))
    return [*TINY, "--seeds=2", f"--workdir={workdir}", "--resume"]


class _Special:
    """A case that needs more than an argv: ``run(tmp_path, finished_run, monkeypatch, capsys)``
    returns (exit code, stderr); ``may_compile`` for failures that can only happen mid-run."""

    def __init__(self, run, may_compile: bool = False):
        self.run, self.may_compile = run, may_compile


def _disk_full(tmp_path, finished_run, monkeypatch, capsys):
    """The disk fills after the checkpoint at env step 400; that checkpoint stays good."""
    workdir = str(tmp_path / "run")
    real_append, calls = metrics_io.append, []

    def fill_up(path, records):
        calls.append(path)
        if len(calls) == 2:  # the second evaluation's records: after the checkpoint at 400
            raise OSError(errno.ENOSPC, "No space left on device", path)
        real_append(path, records)

    monkeypatch.setattr(metrics_io, "append", fill_up)
    code = _main([*TINY, f"--workdir={workdir}"])
    err = capsys.readouterr().err
    assert "last complete checkpoint (env step 400) is intact" in err
    monkeypatch.setattr(metrics_io, "append", real_append)
    assert _main([*TINY, f"--workdir={workdir}", "--resume"]) == 0
    steps = [json.loads(line)["env_steps"] for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert steps == [400, 800]
    return code, err


def _seeds_vs_devices(tmp_path, finished_run, monkeypatch, capsys):
    env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2".strip(), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", *TINY, "--seeds=3", f"--workdir={tmp_path}/run"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    return proc.returncode, proc.stderr


# (id, argv, argv builder or _Special, substring of the error line)
CASES = [
    ("unknown config", ["--config=ant_sac_ofee"], "unknown config 'ant_sac_ofee'"),
    ("unknown key", [*TINY, "--config.agent.critic.widht=3"], "unknown config key 'agent.critic.widht'"),
    ("wrong type", [*TINY, "--config.total_env_steps=lots"], "bad value 'lots' for 'total_env_steps'"),
    ("override without value", [*TINY, "--config.total_env_steps"], "needs a value"),
    ("group as value", [*TINY, "--config.agent=3"], "is a group"),
    ("zero size", [*TINY, "--config.env.num_envs=0"], "env.num_envs=0"),
    ("negative size", [*TINY, "--config.total_env_steps=-400"], "total_env_steps must be positive"),
    ("zero seeds", [*TINY, "--seeds=0"], "--seeds must be at least 1"),
    ("batch larger than replay", [*TINY, "--config.agent.batch_size=2048", "--config.warmup_env_steps=2048",
                                  "--config.total_env_steps=4000"], "replay_capacity=1000 must be at least batch_size=2048"),
    ("warm-up longer than run", [*TINY, "--config.warmup_env_steps=1200"], "leaves no training"),
    ("unknown env", [*TINY, "--config.env.name=Pong-v4"], "unknown env 'Pong-v4'"),
    ("unknown backend", ["--config=ant_sac", "--config.env.backend=quantum"], "unknown backend 'quantum'"),
    ("backend on a task without one", [*TINY, "--config.env.backend=mjx"], "has no physics backend choice"),
    ("unknown choice", [*TINY, "--config.agent.critic_loss=l1"], "agent.critic_loss='l1' not one of"),
    ("out-of-range hyperparameter", [*TINY, "--config.agent.gamma=1.5"], "agent.gamma=1.5 must be in (0, 1]"),
    ("unknown matmul precision", [*TINY, "--config.matmul_precision=fp8"], "matmul_precision"),
    ("inconsistent intervals", [*TINY, "--config.checkpoint_every_env_steps=600"], "checkpoint_every_env_steps=600"),
    ("ofenet batch mismatch", [*TINY, "--config.agent.features=ofenet", "--config.agent.ofenet.batch_size=32"],
     "agent.ofenet.batch_size=32 must equal agent.batch_size=64"),
    ("shadowed width", ["--config=hopper_td3_original", "--config.agent.actor.width=64"], "widths=None"),
    ("replay beyond memory", [*TINY, "--config.replay_capacity=40000000000", "--config.env.num_envs=4"],
     "needs"),
    ("unwritable workdir", lambda tmp_path, _: [*TINY, f"--workdir={_a_file(tmp_path)}/run"], "cannot write to --workdir"),
    ("workdir holds a run", lambda tmp_path, run: [*TINY, "--seeds=2", f"--workdir={run}"], "already holds a run"),
    ("resume with other seeds", lambda tmp_path, run: [*TINY, "--seeds=3", f"--workdir={run}", "--resume"],
     "was started with 2 seeds, not 3"),
    ("resume with other config", lambda tmp_path, run: [*TINY, "--seeds=2", f"--workdir={run}", "--resume",
                                                        "--config.agent.tau=0.01"], "config differs"),
    ("checkpoint of another package version", _other_version, "was written by largerl-jax 0.0.1"),
    ("checkpoint of other shapes", _different_shapes, "do not match this code's train state"),
    ("missing optional dependency", ["--config=gym_hopper_sac"], 'not installed: pip install "gymnasium[mujoco]"'),
    ("seeds not divisible by the devices", _Special(_seeds_vs_devices), "--seeds=3 must be a multiple of the 2 devices"),
    ("disk fills during the run", _Special(_disk_full, may_compile=True), "disk full while writing"),
]


def _a_file(tmp_path) -> str:
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return str(path)


def _main(argv) -> int:
    try:
        return run_cli.main(argv)
    except SystemExit as e:  # argparse-level errors
        return e.code


@pytest.mark.parametrize("name,argv,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line_before_any_compile(name, argv, expected, tmp_path, capsys, monkeypatch,
                                                        finished_run):
    may_compile = isinstance(argv, _Special) and argv.may_compile
    if callable(argv):
        argv = argv(tmp_path, finished_run)
    if name == "missing optional dependency":
        _no_gymnasium(monkeypatch)
    capsys.readouterr()
    _compiles.clear()
    if isinstance(argv, _Special):
        code, err = argv.run(tmp_path, finished_run, monkeypatch, capsys)
    else:
        code, err = _main(argv), capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert len(errors) == 1 and expected in errors[0], err
    assert "Traceback" not in err
    assert may_compile or not _compiles, f"{len(_compiles)} programs compiled before the error"
