"""experiments.grid: scalar points vmapped in one program equal their runs alone; shape points
compile apart; --resume continues a partly finished grid; a 4-device sharded grid and a
two-process jax.distributed grid give the same records."""
import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

from experiments import grid as grid_cli
from experiments.configs import get_config, grids
from experiments.overrides import apply_overrides
from largerl_jax.training import run
from largerl_jax.training.restore import restore_agent

# A tiny Pendulum SAC (16-wide nets, 1.2K env steps); one override list for the CLI and for the
# configs of the runs alone.
TINY = [
    ("agent.actor.width", "16"), ("agent.critic.width", "16"), ("agent.batch_size", "32"),
    ("env.num_envs", "4"), ("env.eval_episodes", "2"), ("updates_per_iteration", "2"),
    ("total_env_steps", "1200"), ("warmup_env_steps", "400"), ("replay_capacity", "800"),
    ("log_every_env_steps", "400"), ("eval_every_env_steps", "400"), ("checkpoint_every_env_steps", "400"),
]
FLAGS = [f"--config.{k}={v}" for k, v in TINY]
AXES = ["--axis=lr=0.0003,0.001", "--axis=units=16,8"]
SCALAR_POINTS = ["lr0.0003_units16", "lr0.001_units16"]
COMPARED = ("eval_return", "critic_loss", "actor_loss", "temperature", "train_return")


def _records(folder):
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def _assert_same(a, b, rtol=2e-4, atol=2e-4):
    assert [(r["seed"], r["env_steps"]) for r in a] == [(r["seed"], r["env_steps"]) for r in b]
    for x, y in zip(a, b):
        for k in COMPARED:
            if x.get(k) is None or y.get(k) is None:
                assert x.get(k) == y.get(k), k
            else:
                np.testing.assert_allclose(x[k], y[k], rtol=rtol, atol=atol, err_msg=k)


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    """The 2 x 2 grid (lr carried, units compiled apart), 2 seeds, interrupted in its second
    program at 800 env steps and finished with --resume."""
    workdir = str(tmp_path_factory.mktemp("grid") / "g")
    real, calls = grid_cli.run_points, []

    def interrupted(points, num_seeds, carried, **kw):
        calls.append([p.name for p in points])
        if len(calls) == 2:
            real(points, num_seeds, carried, stop_after_env_steps=800, **kw)
            raise KeyboardInterrupt  # killed after its 800-step checkpoint
        return real(points, num_seeds, carried, **kw)

    grid_cli.run_points = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            grid_cli.main(["--config=pendulum_sac", *AXES, *FLAGS, "--seeds=2", f"--workdir={workdir}", "--no-progress"])
    finally:
        grid_cli.run_points = real
    assert calls == [SCALAR_POINTS, ["lr0.0003_units8", "lr0.001_units8"]]
    assert grid_cli.main(["--config=pendulum_sac", *AXES, *FLAGS, "--seeds=2", f"--workdir={workdir}", "--no-progress", "--resume"]) == 0
    return workdir


def test_grid_json_and_one_program_per_shape(grid_dir):
    meta = json.load(open(os.path.join(grid_dir, "grid.json")))
    assert meta["axes"] == {"lr": [0.0003, 0.001], "units": [16, 8]}
    assert [p["name"] for p in meta["points"]] == [*SCALAR_POINTS, "lr0.0003_units8", "lr0.001_units8"]
    carried = ["agent.actor_lr", "agent.alpha_lr", "agent.critic_lr"]
    assert meta["programs"] == [
        {"carried": carried, "points": SCALAR_POINTS},
        {"carried": carried, "points": ["lr0.0003_units8", "lr0.001_units8"]},
    ]
    for p in meta["points"]:
        folder = os.path.join(grid_dir, p["name"])
        assert os.path.exists(os.path.join(folder, "DONE"))
        saved = json.load(open(os.path.join(folder, "config.json")))
        assert saved["agent"]["actor_lr"] == p["values"]["lr"] and saved["agent"]["critic"]["width"] == p["values"]["units"]


def test_each_scalar_point_equals_its_run_alone(grid_dir):
    """Also covers --resume: the units8 points were interrupted and resumed."""
    for name in ("lr0.001_units16", "lr0.001_units8"):  # the other points share these programs
        lr, units = name[2:].split("_units")
        cfg = apply_overrides(get_config("pendulum_sac"), TINY + [
            ("agent.actor_lr", lr), ("agent.critic_lr", lr), ("agent.alpha_lr", lr),
            ("agent.actor.width", units), ("agent.critic.width", units),
        ])
        alone = run(cfg, num_seeds=2, progress=False)
        grid = _records(os.path.join(grid_dir, name))
        _assert_same(grid, alone)
    # the two learning rates really train differently
    a, b = (_records(os.path.join(grid_dir, n))[-1]["critic_loss"] for n in SCALAR_POINTS)
    assert abs(a - b) > 1e-3


def test_resume_skips_finished_points(grid_dir, capsys):
    assert grid_cli.main(["--config=pendulum_sac", *AXES, *FLAGS, "--seeds=2", f"--workdir={grid_dir}", "--no-progress", "--resume"]) == 0
    err = capsys.readouterr().err
    assert all(f"{p}: finished earlier, skipped" in err for p in SCALAR_POINTS)


def test_bad_grids_are_refused(tmp_path, capsys):
    assert grid_cli.main(["--config=pendulum_sac", "--no-progress"]) == 2
    assert "not a grid config" in capsys.readouterr().err
    assert grid_cli.main(["--config=pendulum_sac", "--axis=agent.nope=1,2"]) == 2
    assert "not a config key" in capsys.readouterr().err
    assert grid_cli.main(["--config=pendulum_sac", "--axis=lr"]) == 2
    wd = str(tmp_path / "w")
    assert grid_cli.main(["--config=pendulum_sac", "--axis=lr=0.001", "--resume", f"--workdir={wd}", *FLAGS]) == 2
    assert "holds no grid" in capsys.readouterr().err


def test_groups_carry_scalars_and_split_shapes():
    base = get_config("pendulum_sac")
    points = grids.expand({"agent.tau": (0.005, 0.01), "agent.batch_size": (32, 64)}, base, "g")
    groups = grids.program_groups(points)
    assert [(c, [p.name for p in g]) for c, g in groups] == [
        (("agent.tau",), ["tau0.005_batch_size32", "tau0.01_batch_size32"]),
        (("agent.tau",), ["tau0.005_batch_size64", "tau0.01_batch_size64"]),
    ]


def test_host_env_grids_run_point_by_point():
    base = get_config("pendulum_sac")
    base.env.name = "Hopper-v4"
    groups = grids.program_groups(grids.expand({"lr": (1e-4, 1e-3)}, base, "g"))
    assert [(c, len(g)) for c, g in groups] == [((), 1), ((), 1)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(extra, env=None):
    cmd = [sys.executable, "-m", "experiments.grid", "--config=pendulum_sac", *AXES[:1], "--axis=units=16", *FLAGS,
           "--no-progress", *extra]
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _why(output: str) -> str:
    """What a failed process said: its error and fatal log lines wherever they are (an abort's
    native stack trace follows them and fills the tail), then its last lines."""
    said = [line for line in output.splitlines()
            if re.match(r"^(F\d{4}|E\d{4}|W\d{4}|\w*Error|Traceback|Check failed)", line) or "DEADLINE" in line]
    plain = [line for line in output.splitlines() if not line.lstrip().startswith("@")]  # no stack frames
    return "\n".join(said[:40]) + "\n... last lines:\n" + "\n".join(plain[-20:])


def test_four_device_sharded_grid_equals_the_unsharded_one(grid_dir, tmp_path):
    proc = _cli(["--seeds=2", f"--workdir={tmp_path / 's'}"], {"XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()})
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    for name in SCALAR_POINTS:
        _assert_same(_records(tmp_path / "s" / name), _records(os.path.join(grid_dir, name)))


def test_two_processes_with_jax_distributed_write_every_point(grid_dir, tmp_path):
    port = _free_port()
    wd = str(tmp_path / "d")
    procs = [
        _cli(["--seeds=2", f"--workdir={wd}", f"--coordinator=127.0.0.1:{port}", "--num-processes=2", f"--process-id={i}"])
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    if [p.returncode for p in procs] != [0, 0]:  # pytest.fail: an assert's message is cut short
        pytest.fail("\n\n".join(f"process {i} exited {p.returncode}:\n{_why(o)}" for i, (p, o) in enumerate(zip(procs, outs))),
                    pytrace=False)
    assert "rows split over 2 device(s) of 2 processes (this is process 1)" in outs[1]
    for name in SCALAR_POINTS:
        assert os.path.exists(os.path.join(wd, name, "DONE"))
        _assert_same(_records(os.path.join(wd, name)), _records(os.path.join(grid_dir, name)))
    # process 0 prints every point's result, its rows gathered from both processes
    assert all(f"{name}: final eval_return" in outs[0] for name in SCALAR_POINTS)
    # the checkpoint both processes wrote together restores in one process
    lr = [(f"agent.{k}_lr", "0.001") for k in ("actor", "critic", "alpha")]
    restored = restore_agent(apply_overrides(get_config("pendulum_sac"), TINY + lr), os.path.join(wd, SCALAR_POINTS[1]), 2, 1)
    assert restored.meta["env_steps"] == 1200
