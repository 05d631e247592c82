"""The scaling leaderboard (experiments.reproduce scaling_leaderboard): its configs share the
budget they claim to share, and its table ranks the methods beside their cost."""
from __future__ import annotations

import csv
import json
import os

import pytest

from experiments import reproduce
from experiments.configs import get_config
from experiments.configs import leaderboard as lb
from experiments.paper_tables import paper_table
from largerl_jax.training import validate


@pytest.mark.parametrize("task", list(lb.TASKS))
def test_every_method_gets_the_same_simulator_budget_warmup_and_evaluations(task):
    sim, warm, evals = set(), set(), set()
    for method in lb.METHODS:
        cfg = get_config(f"lb_{task}_{method}")
        validate(cfg)
        repeat, n = cfg.env.action_repeat, cfg.env.num_envs
        sim.add(round(cfg.total_env_steps * repeat, -2))  # rounded to the method's env count
        warm.add(round(cfg.warmup_env_steps * repeat, -2))
        evals.add(cfg.total_env_steps // cfg.eval_every_env_steps)
        assert cfg.env.eval_episodes == lb.EVAL_EPISODES and cfg.replay_capacity == cfg.total_env_steps
        assert cfg.total_env_steps % n == 0 and cfg.eval_every_env_steps % n == 0
    assert sim == {lb.SIM_STEPS} and warm == {lb.WARMUP_SIM_STEPS} and evals == {lb.EVALUATIONS}


def test_each_method_is_its_named_config_with_widths_divided():
    divided = lambda name, net: get_config(name).agent[net].width // lb.WIDTH_DIVISOR  # noqa: E731
    assert get_config("lb_halfcheetah_sac").agent.critic.width == 256  # the baseline is not shrunk
    assert get_config("lb_cheetah_run_sac").agent.critic.width == 256
    simba = get_config("lb_cheetah_run_simba").agent
    assert simba.critic.arch == "simba" and simba.critic.width == divided("dmc_cheetah_run_simba", "critic")
    assert simba.num_q == 1  # SimBa's single critic on DMC survives the change
    bro = get_config("lb_halfcheetah_bro_fast").agent
    assert bro.actor_o.width == divided("halfcheetah_bro_fast", "actor_o") and bro.resets.at_env_steps
    ota = get_config("lb_halfcheetah_ota")
    assert ota.agent.features == "ofenet" and ota.env.num_envs == 64 and ota.updates_per_iteration == 8
    assert ota.agent.ofenet.units == get_config("halfcheetah_sac_ours").agent.ofenet.units // lb.WIDTH_DIVISOR
    ota_dmc = get_config("lb_cheetah_run_ota").agent
    assert ota_dmc.features == "ofenet" and ota_dmc.critic.arch == "densenet" and ota_dmc.critic_loss == "huber"
    for task in lb.TASKS:
        bj = get_config(f"lb_{task}_bjorck").agent
        assert (bj.critic.arch, bj.critic.depth, bj.actor.depth) == ("modern", 4, 2)
        assert bj.critic.spectral_norm == bj.actor.spectral_norm == "intermediate"


def test_table_has_every_task_and_method_and_no_suites():
    table = paper_table("scaling_leaderboard")
    assert table.leaderboard and len(table.runnable()) == len(lb.TASKS) * len(lb.METHODS)
    assert {c.config for c in table.cells} == set(lb.leaderboard_config_names())
    assert all(c.paper is None for c in table.cells)
    with pytest.raises(ValueError, match="has no suites"):
        paper_table("scaling_leaderboard", "gym_")


TINY = ["--seeds=2", "--no-progress", "--set=agent.actor.width=8", "--set=agent.critic.width=8",
        "--set=agent.batch_size=16", "--set=env.eval_episodes=1", "--set=env.episode_length=40",
        "--set=total_env_steps=120", "--set=warmup_env_steps=40", "--set=log_every_env_steps=40",
        "--set=eval_every_env_steps=40", "--set=checkpoint_every_env_steps=0", "--set=replay_capacity=200"]


def test_leaderboard_ranks_methods_beside_their_cost(tmp_path):
    out = str(tmp_path / "lb")
    assert reproduce.main(["scaling_leaderboard", f"--out={out}", "--cells=halfcheetah__sac,halfcheetah__simba",
                           *TINY]) == 0
    with open(os.path.join(out, "scaling_leaderboard.csv")) as f:
        rows = {(r["task"], r["method"]): r for r in csv.DictReader(f)}
    assert len(rows) == 12 and rows[("cheetah run", "SimBa")]["folder"] == ""
    cells = {c["id"]: c for c in json.load(open(os.path.join(out, "scaling_leaderboard.json")))["cells"]}
    sac, simba = cells["halfcheetah__sac"], cells["halfcheetah__simba"]
    assert sorted([sac["rank"], simba["rank"]]) == [1, 2]
    assert (sac["rank"] == 1) == (sac["score"] >= simba["score"])
    for c in (sac, simba):
        assert c["finished"] and c["sim_steps"] == 120 and c["wall_s"] > 0 and len(c["curve"]["wall_s"]) == 3
        assert c["curve"]["mean_return"][-1] == pytest.approx(c["score"])
        assert c["ci"][0] <= c["score"] <= c["ci"][1]
    # parameter counts of the networks as run (8 wide, from the --set overrides)
    assert set(simba["params"]) >= {"actor", "critic"} and all(v > 0 for v in simba["params"].values())
    assert sac["params"]["actor"] < 2_000 and simba["params"] != sac["params"]
    md = open(os.path.join(out, "scaling_leaderboard.md")).read()
    assert "## Cost" in md and "| HalfCheetah | SimBa | 120 (repeat 1) | 1 x 2 |" in md and "not run" in md
    # time to the task's baseline (SAC's final score): SAC reaches its own score, at its last
    # evaluation at the latest; the other is reached or not, and says which
    assert sac["baseline_reached"]["baseline"] == sac["score"] and sac["baseline_reached"]["wall_s"] is not None
    assert sac["baseline_reached"]["env_steps"] <= 120
    assert simba["baseline_reached"]["baseline"] == sac["score"] and "SAC's score reached at" in md
    table_rows = [line for line in md.split("## Cost")[0].splitlines() if line.startswith("| HalfCheetah")]
    assert table_rows and "paper" not in table_rows[0] and "(#1)" in table_rows[0] and "(#2)" in table_rows[0]
