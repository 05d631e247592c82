"""Weights & Biases logging: the records' scalars, one W&B run per seed with a stable id, grouped
by run folder, config and provenance attached, a resumed run continuing its W&B runs without
sending a step twice; then the real package in its offline mode (no network)."""
import glob
import json
import os
import sys
import time

import pytest

from experiments import run as run_cli
from largerl_jax.training import WandbSettings, run
from largerl_jax.training.run_files import wandb_log
from largerl_jax.training.run_files.metrics_io import read


class FakeWandb:
    """wandb.init's contract as the logger uses it: runs by id on a 'server' that keeps their
    history across processes (a resumed run reports its next step, as W&B does)."""

    def __init__(self):
        self.server: dict[str, list] = {}
        self.inits: list[dict] = []

    def init(self, **kwargs):
        self.inits.append(kwargs)
        fake = self

        class Run:
            history = self.server.setdefault(kwargs["id"], [])
            step = history[-1][0] + 1 if history else 0
            finished = False

            def log(self, data, step):
                assert step >= self.step, "W&B refuses steps behind the run's"
                self.history.append((step, dict(data)))
                self.step = step + 1

            def finish(self):
                self.finished = True

        run = Run()
        fake.last = run
        return run


def test_one_run_per_seed_grouped_by_folder_and_resumed_without_repeats(tiny_pendulum, tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setattr(wandb_log, "_default_init", lambda: fake.init)
    workdir = str(tmp_path / "pend")
    settings = WandbSettings(project="proj")
    run(tiny_pendulum(), workdir=workdir, num_seeds=2, progress=False, stop_after_env_steps=1200, wandb=settings)
    assert sorted(i["id"] for i in fake.inits) == sorted(wandb_log.run_id(workdir, s) for s in (0, 1))
    assert {i["group"] for i in fake.inits} == {"pend"} and {i["name"] for i in fake.inits} == {"pend/seed_0", "pend/seed_1"}
    assert all(i["project"] == "proj" and i["resume"] == "allow" for i in fake.inits)
    config = fake.inits[0]["config"]
    assert config["config"]["agent"]["name"] == "sac" and "provenance" in config
    # the kill came after the evaluation at 1200, past the checkpoint at 800: W&B has 1200
    assert [s for s, _ in fake.server[wandb_log.run_id(workdir, 0)]] == [400, 800, 1200]

    fake.inits.clear()
    run(tiny_pendulum(), workdir=workdir, num_seeds=2, resume=True, progress=False, wandb=settings)
    assert sorted(i["id"] for i in fake.inits) == sorted(wandb_log.run_id(workdir, s) for s in (0, 1))
    records = read(os.path.join(workdir, "metrics.jsonl"))
    for seed in (0, 1):
        history = fake.server[wandb_log.run_id(workdir, seed)]
        # every step once; the one the resume re-ran (1200) kept as first sent
        assert [s for s, _ in history] == [400, 800, 1200, 1600]
        mine = [r for r in records if r["seed"] == seed]
        assert history[-1][1]["eval_return"] == pytest.approx(mine[-1]["eval_return"])
        assert history[0][1]["eval_return"] == pytest.approx(mine[0]["eval_return"])
        assert "seed" not in history[0][1] and "env_steps" not in history[0][1]


def test_ids_are_stable_and_distinct():
    assert wandb_log.run_id("runs/a", 0) == wandb_log.run_id(os.path.abspath("runs/a"), 0)
    assert len({wandb_log.run_id("runs/a", 0), wandb_log.run_id("runs/a", 1), wandb_log.run_id("other/a", 0)}) == 3


def test_missing_package_is_one_line_before_any_compute(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb then raises ImportError
    code = run_cli.main(["--config=pendulum_sac", f"--workdir={tmp_path / 'w'}", "--wandb"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == 'error: --wandb needs the wandb package: pip install "largerl-jax[wandb]"'
    assert not os.path.exists(tmp_path / "w")


TINY = ["--config.agent.actor.width=16", "--config.agent.critic.width=16", "--config.agent.batch_size=64",
        "--config.env.num_envs=4", "--config.env.eval_episodes=2", "--config.updates_per_iteration=2",
        "--config.total_env_steps=800", "--config.warmup_env_steps=400", "--config.replay_capacity=1000",
        "--config.log_every_env_steps=400", "--config.eval_every_env_steps=400",
        "--config.checkpoint_every_env_steps=800", "--config.srank_batch_size=0"]


def test_offline_mode_writes_a_run_per_seed(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    os.makedirs(tmp_path / "wb")
    workdir = str(tmp_path / "cli")
    assert run_cli.main(["--config=pendulum_sac", f"--workdir={workdir}", "--seeds=2", "--no-progress",
                         "--wandb=offline-proj", *TINY]) == 0
    for seed in (0, 1):
        (path,) = glob.glob(str(tmp_path / "wb" / "wandb" / f"offline-run-*-{wandb_log.run_id(workdir, seed)}"
                                / "run-*.wandb"))
        # W&B's service process may still be writing after run.finish() returns (seen on a loaded
        # 2-core machine: the file held only its header), so wait for the records to land
        deadline = time.monotonic() + 60
        while True:
            data = open(path, "rb").read()
            if (b"eval_return" in data and b"critic_loss" in data) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert b"eval_return" in data and b"offline-proj" in data and b"critic_loss" in data
    assert json.load(open(os.path.join(workdir, "config.json")))["name"] == "pendulum_sac"
