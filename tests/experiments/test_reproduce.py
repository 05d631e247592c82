"""experiments.reproduce end to end at smoke budgets on the CPU: each table's cells run, the table
written with the paper's numbers beside ours; an interrupted cell resumed; a 2-shard split whose
union equals the unsharded table; the dry run's plan and measured cost; bad input refused in
one line before any compute."""
import csv
import json
import os

import pytest

from experiments import reproduce
from experiments.paper_tables import paper_table
from experiments.reproduce_cells import cell_config, cell_dir, scale_budget
from experiments.configs import get_config
from experiments.curves import read_records
from largerl_jax.training import run
from xla_test_flags import FAST_COMPILE, LOW_LEVEL_ONLY

# Gymnasium Hopper (host envs) with 16-wide networks, 300 env steps, two evaluations
TINY_HOST = ["--seeds=2", "--no-progress", "--set=agent.actor.width=16", "--set=agent.critic.width=16",
             "--set=agent.value.width=16", "--set=agent.batch_size=32", "--set=env.eval_episodes=1",
             "--set=env.episode_length=50", "--set=total_env_steps=300", "--set=warmup_env_steps=100",
             "--set=log_every_env_steps=100", "--set=eval_every_env_steps=100",
             "--set=checkpoint_every_env_steps=100", "--set=replay_capacity=400"]
XINET_CELLS = "--cells=sac__hopper,sac_big__hopper"  # the same program once the widths are set


def _rows(out: str, table: str) -> dict:
    with open(os.path.join(out, f"{table}.csv")) as f:
        return {(r["row"], r["column"]): r for r in csv.DictReader(f)}


def _ours(rows: dict) -> dict:
    return {k: (r["ours"], r["ci_low"], r["ci_high"], r["env_steps"]) for k, r in rows.items() if r["ours"] != "nan"}


@pytest.fixture(scope="module")
def xinet_full(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("xinet") / "full")
    assert reproduce.main(["xinet_table3", f"--out={out}", XINET_CELLS, *TINY_HOST]) == 0
    return out


def test_xinet_table_written_beside_the_papers_numbers(xinet_full):
    rows = _rows(xinet_full, "xinet_table3")
    assert len(rows) == 28  # every cell of the paper's table, run or not
    for key, paper in ((("SAC", "Hopper"), 3197.0), (("SAC-Big", "Hopper"), 3534.0)):
        r = rows[key]
        assert r["finished"] == "True" and r["seeds"] == "2" and float(r["paper"]) == paper
        assert float(r["ci_low"]) <= float(r["ours"]) <= float(r["ci_high"])
        assert float(r["ratio"]) == pytest.approx(float(r["ours"]) / paper)
        assert int(r["env_steps"]) >= 0.8 * 300  # the last 20% of the (overridden) budget
    assert rows[("OFE", "Ant")]["folder"] == "" and rows[("OFE", "Ant")]["ours"] == "nan"
    md = open(os.path.join(xinet_full, "xinet_table3.md")).read()
    assert "paper 3,197.0" in md and "not run · paper 16,609.0" in md and "| SAC | 1 | 2 |" in md
    summary = json.load(open(os.path.join(xinet_full, "xinet_table3.json")))
    assert summary["aggregate"]["SAC"]["tasks"] == ["Hopper"] and summary["aggregate"]["SAC"]["runs_per_task"] == 2
    assert os.path.exists(os.path.join(xinet_full, "xinet_table3.png"))


def test_two_shards_make_the_unsharded_table(xinet_full, tmp_path, capsys):
    out = str(tmp_path / "sharded")
    assert reproduce.main(["xinet_table3", f"--out={out}", XINET_CELLS, "--shard=0/2", *TINY_HOST]) == 0
    assert len(_ours(_rows(out, "xinet_table3"))) == 1  # shard 0 ran one of the two cells
    assert reproduce.main(["xinet_table3", f"--out={out}", XINET_CELLS, "--shard=1/2", *TINY_HOST]) == 0
    assert _ours(_rows(out, "xinet_table3")) == _ours(_rows(xinet_full, "xinet_table3"))
    # rerunning skips the finished cells
    capsys.readouterr()
    assert reproduce.main(["xinet_table3", f"--out={out}", XINET_CELLS, *TINY_HOST]) == 0
    assert capsys.readouterr().err.count("finished earlier, skipped") == 2


def test_an_interrupted_cell_resumes_and_keeps_what_was_written(xinet_full, tmp_path, capsys):
    out = str(tmp_path / "interrupted")
    table = paper_table("xinet_table3")
    (cell,) = [c for c in table.cells if c.id == "sac__hopper"]
    overrides = [tuple(a[len("--set="):].split("=", 1)) for a in TINY_HOST if a.startswith("--set=")]
    # the first part of the run, as a killed job leaves it (the plan written first, as the CLI does)
    os.makedirs(out)
    with open(os.path.join(out, "plan.json"), "w") as f:
        json.dump({"table": "xinet_table3", "suite": "gym_", "seeds": 2, "scale": 1.0,
                   "overrides": [f"{k}={v}" for k, v in overrides]}, f)
    run(cell_config(cell, 1.0, overrides), workdir=cell_dir(out, cell), num_seeds=2, progress=False,
        stop_after_env_steps=100)
    capsys.readouterr()
    assert reproduce.main(["xinet_table3", f"--out={out}", "--cells=sac__hopper", *TINY_HOST]) == 0
    assert "sac__hopper: resuming" in capsys.readouterr().err
    row = _rows(out, "xinet_table3")[("SAC", "Hopper")]
    assert row["finished"] == "True" and row["env_steps"] == "300"
    # what was written before the interruption is kept as it was (a host env restarts its
    # episodes on a resume, so the rest of a Gymnasium cell differs from an uninterrupted run;
    # JAX env cells resume exactly, tests/training/test_runner.py)
    before = lambda d: [{k: v for k, v in r.items() if k != "wall_time_s"}  # noqa: E731
                        for r in read_records(d) if r["env_steps"] <= 100]
    assert before(cell_dir(out, cell)) == before(cell_dir(xinet_full, cell)) != []
    # the folder's plan is fixed: other seeds are refused before anything runs
    assert reproduce.main(["xinet_table3", f"--out={out}", "--cells=sac__hopper", *TINY_HOST, "--seeds=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "seeds=2" in err and "use the same or another --out" in err


def test_ota_table_smoke_and_dry_run(tmp_path, capsys):
    out = str(tmp_path / "ota")
    args = ["ota_table1", f"--out={out}", "--cells=hopper__sac_original", *TINY_HOST]
    assert reproduce.main(args + ["--dry-run", "--measure-iterations=2"]) == 0
    printed = capsys.readouterr().out
    assert "hopper__sac_original" in printed and "gym_hopper_sac_original" in printed and "total:" in printed
    assert "hours of training iterations" in printed and not os.path.exists(out)  # nothing written
    assert reproduce.main(args) == 0
    row = _rows(out, "ota_table1")[("Hopper", "SAC Original")]
    assert float(row["paper"]) == 3316.6 and row["finished"] == "True" and row["ours"] != "nan"
    md = open(os.path.join(out, "ota_table1.md")).read()
    assert "| Hopper |" in md and "paper 3,316.6" in md and "paper 14,858.2" in md


@pytest.mark.slow
def test_bjorck_table_smoke_from_pixels(tmp_path, monkeypatch):
    if os.environ.get("XLA_FLAGS") == FAST_COMPILE:  # the suite's own flags, not a user's
        monkeypatch.setenv("XLA_FLAGS", LOW_LEVEL_ONLY)  # the cells' processes run more than they compile
    out = str(tmp_path / "bjorck")
    args = ["bjorck_table1", f"--out={out}", "--cells=swingup__mlp", "--seeds=2", "--no-progress",
            "--set=agent.actor.width=16", "--set=agent.critic.width=16", "--set=agent.batch_size=8",
            "--set=env.eval_episodes=1", "--set=env.episode_length=60", "--set=total_env_steps=120",
            "--set=warmup_env_steps=100", "--set=log_every_env_steps=20", "--set=eval_every_env_steps=60",
            "--set=checkpoint_every_env_steps=0", "--set=replay_capacity=200"]
    assert reproduce.main(args) == 0
    rows = _rows(out, "bjorck_table1")
    row = rows[("swingup", "MLP")]
    assert float(row["paper"]) == 805.7 and float(row["paper_pm"]) == 64.9 and row["env_steps"] == "120"
    assert rows[("swingup", "Dreamer")]["config"] == ""  # printed for reference, never run
    md = open(os.path.join(out, "bjorck_table1.md")).read()
    assert "paper 592.4 ± 31.3 (reference only)" in md and "paper 862.3 ± 15.2" in md


@pytest.mark.parametrize("args,message", [
    (["no_such_table"], "unknown table 'no_such_table'; tables: ota_table1, xinet_table3, bjorck_table1"),
    (["ota_table1", "--shard=2/2"], "must be i/n with 0 <= i < n"),
    (["ota_table1", "--cells=nowhere__*"], "matches no cell of ota_table1"),
    (["ota_table1", "--cells=hopper__sac_ours", "--set=agent.no_such_key=1"], "no selected cell's config has this key"),
    (["ota_table1", "--scale=0"], "--scale must be positive"),
    (["ota_table1", "--seeds=0"], "--seeds must be at least 1"),
    (["ota_table1", "--dry-run", "--measure-iterations=0"], "--measure-iterations must be at least 1"),
    (["ota_table1", "--suite=pixels_"], "table ota_table1 has suites"),
    (["ota_table1", "--cells=hopper__sac_ours", "--set=total_env_steps=7"], "cell hopper__sac_ours"),
])
def test_bad_input_is_one_line_before_any_compute(args, message, capsys, tmp_path):
    code = reproduce.main(args + [f"--out={tmp_path / 'o'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and not os.path.exists(tmp_path / "o")


def test_scale_keeps_a_valid_budget():
    cfg = get_config("gym_hopper_xinet_prune_b")
    scale_budget(cfg, 0.001)
    assert cfg.total_env_steps == 1000 and cfg.eval_every_env_steps == 10 and cfg.warmup_env_steps == 256
    assert cfg.checkpoint_every_env_steps == 100 and cfg.agent.pruning.warmup_updates == 50
    assert cfg.agent.ofenet.pretrain_updates == 10
