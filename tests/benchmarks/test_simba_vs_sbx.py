"""benchmarks.simba_vs_sbx: the sbx side is set to our SimBa configs, bad input is refused before
anything runs, and the rounds interleave every measurement."""
from __future__ import annotations

from runpy import run_path

import pytest

from benchmarks import simba_vs_sbx as bench
from experiments.configs import get_config

RUNNER = run_path(str(bench.RUNNER))  # its top level imports the standard library only


@pytest.mark.parametrize("task", list(bench.GYM_NAMES))
def test_the_sbx_runner_is_set_to_our_config(task):
    cfg = get_config(bench.config_name(task))
    a = cfg.agent
    assert cfg.env.name == bench.GYM_NAMES[task] and cfg.env.num_envs == 1
    assert RUNNER["CRITICS"][bench.GYM_NAMES[task]] == a.num_q
    assert RUNNER["ACTOR_BLOCKS"] == [a.actor.width] * a.actor.depth
    assert RUNNER["CRITIC_BLOCKS"] == [a.critic.width] * a.critic.depth
    assert RUNNER["UPDATES_PER_STEP"] == cfg.updates_per_iteration and a.batch_size == 256
    assert RUNNER["LR"] == a.actor_lr == a.critic_lr == a.alpha_lr and RUNNER["WEIGHT_DECAY"] == a.weight_decay
    assert RUNNER["INIT_TEMPERATURE"] == a.init_temperature and RUNNER["TARGET_ENTROPY_COEF"] == a.target_entropy_coef
    assert RUNNER["GAMMA"] == a.gamma and a.tau == 0.005 and cfg.warmup_env_steps == 5000


def test_rounds_measure_every_pair_once_in_a_rotating_order():
    tasks = ["halfcheetah", "ant"]
    orders = [bench.round_order(i, tasks) for i in range(4)]
    assert all(sorted(o) == sorted(orders[0]) and len(o) == 4 for o in orders)
    assert len({o[0] for o in orders}) == 4  # each pair leads one round
    rounds = [{"runs": {"ours/ant": {"env_steps_per_s_per_seed": r}, "sbx/ant": {"env_steps_per_s_per_seed": 1.0}}}
              for r in (3.0, 5.0, 4.0)]
    m = bench.medians(rounds, ["ant"])
    assert m["ours/ant"]["env_steps_per_s_per_seed"] == 4.0 and m["ours/ant"]["rounds"] == [3.0, 5.0, 4.0]


@pytest.mark.parametrize("args,message", [
    (["--tasks=hopper"], "each must be one of halfcheetah, ant"),
    (["--rounds=0"], "--rounds and --steps must be at least 1"),
    (["--warmup=10"], "--warmup must be at least 256"),
    (["--returns-steps=100"], "--returns-steps must exceed --warmup"),
    (["--eval-episodes=0"], "--eval-episodes must be at least 1"),
])
def test_bad_input_is_one_line_before_anything_runs(args, message, capsys, tmp_path):
    out = tmp_path / "r.json"
    assert bench.main([*args, f"--out={out}", f"--venv={tmp_path / 'no-venv'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not out.exists() and not (tmp_path / "no-venv").exists()
