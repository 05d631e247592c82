"""The scaling leaderboard (experiments.reproduce scaling_leaderboard): its configs share the
budget they claim to share, and its table ranks the methods beside their cost (on fabricated cell
folders with known records; running cells is experiments.reproduce's, tested in
test_reproduce.py)."""
from __future__ import annotations

import csv
import json
import os

import pytest

from experiments import reproduce
from experiments.configs import get_config
from experiments.overrides import apply_overrides
from experiments.configs import leaderboard as lb
from experiments.paper_tables import paper_table
from largerl_jax.training import validate
from largerl_jax.training.run_files import metrics_io as records_io


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


def _cell(out, cell_id: str, config: str, returns: dict, walls: dict) -> None:
    """A finished cell folder as experiments.reproduce leaves it: config.json as the runner writes
    it (8-wide networks, 120 env steps), metrics.jsonl with ``returns`` {env_steps: per seed} at
    wall times ``walls`` {env_steps: s}, and DONE."""
    cfg = apply_overrides(get_config(config), [("agent.actor.width", "8"), ("agent.critic.width", "8"),
                                               ("total_env_steps", "120")])
    folder = os.path.join(out, "cells", cell_id)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({**json.loads(cfg.to_json_best_effort(sort_keys=True)), "_num_seeds": 2}, f)
    records_io.write(os.path.join(folder, "metrics.jsonl"), [
        {"seed": seed, "env_steps": step, "grad_steps": step, "eval_return": value, "wall_time_s": walls[step]}
        for step, values in returns.items() for seed, value in enumerate(values)])
    with open(os.path.join(folder, "DONE"), "w") as f:
        f.write("done\n")


def test_leaderboard_ranks_methods_beside_their_cost(tmp_path):
    """Two finished cells with known records: SAC ends at -40 (mean), SimBa at -80 after -40 at
    80 env steps, so SAC ranks first and SimBa reached SAC's score at 80 steps, 40 s."""
    out = str(tmp_path / "lb")
    _cell(out, "halfcheetah__sac", "lb_halfcheetah_sac", {40: [-300, -200], 80: [-150, -100], 120: [-50, -30]},
          {40: 10.0, 80: 20.0, 120: 30.0})
    _cell(out, "halfcheetah__simba", "lb_halfcheetah_simba", {40: [-400, -350], 80: [-60, -20], 120: [-100, -60]},
          {40: 15.0, 80: 40.0, 120: 70.0})
    assert reproduce.main(["scaling_leaderboard", f"--out={out}", "--cells=halfcheetah__sac,halfcheetah__simba",
                           "--seeds=2", "--no-progress"]) == 0  # both done: nothing runs, the table is written
    with open(os.path.join(out, "scaling_leaderboard.csv")) as f:
        rows = {(r["task"], r["method"]): r for r in csv.DictReader(f)}
    assert len(rows) == 12 and rows[("cheetah run", "SimBa")]["folder"] == ""
    cells = {c["id"]: c for c in json.load(open(os.path.join(out, "scaling_leaderboard.json")))["cells"]}
    sac, simba = cells["halfcheetah__sac"], cells["halfcheetah__simba"]
    assert (sac["score"], sac["rank"], simba["score"], simba["rank"]) == (-40.0, 1, -80.0, 2)
    assert (sac["wall_s"], simba["wall_s"], sac["sim_steps"]) == (30.0, 70.0, 120)
    assert simba["curve"]["mean_return"] == [-375.0, -40.0, -80.0] and simba["curve"]["wall_s"] == [15.0, 40.0, 70.0]
    assert sac["ci"][0] <= sac["score"] <= sac["ci"][1]
    assert sac["baseline_reached"] == {"baseline": -40.0, "env_steps": 120, "wall_s": 30.0}
    assert simba["baseline_reached"] == {"baseline": -40.0, "env_steps": 80, "wall_s": 40.0}
    # parameter counts of the networks as saved (8 wide): SimBa's one critic against SAC's two
    assert set(simba["params"]) >= {"actor", "critic"} and all(v > 0 for v in simba["params"].values())
    assert sac["params"]["actor"] < 2_000 and simba["params"] != sac["params"]
    md = open(os.path.join(out, "scaling_leaderboard.md")).read()
    assert "| HalfCheetah | SimBa | 120 (repeat 1) | 1 x 2 | 70 s | 1.7 | 80, 40 |" in md and "not run" in md
    assert "SAC's score reached at" in md
    table_rows = [line for line in md.split("## Cost")[0].splitlines() if line.startswith("| HalfCheetah")]
    assert "paper" not in table_rows[0] and "**-40.0**" in table_rows[0] and "(#1)" in table_rows[0]
