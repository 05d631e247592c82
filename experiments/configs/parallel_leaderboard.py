"""The reduced-scale leaderboard of the parallel regime at equal wall time (issue 21's study,
``python -m experiments.reproduce parallel_leaderboard``): ``plb_TASK_METHOD``.

TASK: ``halfcheetah`` (MJX locomotion) or ``cheetah_run`` (Playground's DM Control), as the
scaling leaderboard (experiments/configs/leaderboard.py). METHOD:

* ``sac``: SAC 2 x 256, one env, one update per env step (the scaling leaderboard's ``sac``);
* ``crossq``: CrossQ at the authors' settings (experiments/configs/scaling.py: one env, UTD 1);
* ``fast_td3``, ``fast_sac``: the CPU-sized parallel settings (``TASK_fast_td3_cpu``,
  ``TASK_fast_sac_cpu``: 64 envs per seed, the official rows per env in each batch and updates
  per vectorized step);
* ``simba``: the best of the SimBa/BRO issue's methods in the finished scaling leaderboard
  (docs/results.md, 2026-12-06, 20K simulator steps, 3 seeds): first of them on MJX HalfCheetah
  (891 against SimbaV2's 460 and BRO (Fast)'s -90) and level with SimbaV2 on cheetah run (167
  [148, 182] against 174 [142, 226]). Bjorck et al.'s modern + SN heads led HalfCheetah, but
  they are a 2021 method, not one of that issue's.

What is equal: the wall-clock budget of every cell (WALL_BUDGET_S for its 3 vmapped seeds, on one
machine, alone: the run key ``wall_time_budget_s``, which ends training at the first evaluation
past it), the random-action warm-up (WARMUP_SIM_STEPS), the evaluation episodes. Not equal, by
design: the simulator steps each method takes in that time, and its evaluation cadence, which is
set per regime (EVAL_EVERY_ITERATIONS; the budget overshoots by at most one evaluation
interval). ``total_env_steps`` is only an upper bound.
Widths are divided by WIDTH_DIVISOR as in the scaling leaderboard, except SAC's 2 x 256.
Curves against wall time and the time to reach SAC's score come with the table
(experiments.leaderboard_report).
"""
from __future__ import annotations

import ml_collections

from experiments.configs.leaderboard import TASKS, leaderboard_config, parse_board_name, round_to, shrink_widths
from experiments.configs.scaling import scaling_config

METHODS = {"sac": "SAC", "crossq": "CrossQ", "fast_td3": "FastTD3", "fast_sac": "FastSAC", "simba": "SimBa"}
PREFIX = "plb_"
# 10 minutes per cell, so that the 10 cells (about 2 h with compilation and the last
# evaluation's overshoot) fit a working session of this 2-core CPU; 20 minutes did not
WALL_BUDGET_S = 600.0
WARMUP_SIM_STEPS = 5_000
EVAL_EPISODES = 5
# evaluation cadence and upper bound in iterations (agent steps of every env): 1-env methods
# evaluate every 2,500 agent steps, the 64-env ones every 250 vectorized steps (16,000 env steps)
EVAL_EVERY_ITERATIONS = {"one_env": 2_500, "parallel": 250}
MAX_ITERATIONS = {"one_env": 500_000, "parallel": 50_000}


def _scaling_name(task: str, method: str) -> str:
    name = f"{method}_cpu" if method in ("fast_td3", "fast_sac") else method
    return f"dmc_{task}_{name}" if task != "halfcheetah" else f"{task}_{name}"


def parallel_leaderboard_config(task: str, method: str) -> ml_collections.ConfigDict:
    if method == "sac":
        cfg = leaderboard_config(task, "sac")
    else:
        cfg = scaling_config(_scaling_name(task, method))
        shrink_widths(cfg)
    n, repeat = cfg.env.num_envs, cfg.env.action_repeat
    regime = "one_env" if n == 1 else "parallel"
    cfg.eval_every_env_steps = cfg.log_every_env_steps = cfg.checkpoint_every_env_steps = (
        EVAL_EVERY_ITERATIONS[regime] * n)
    cfg.total_env_steps = MAX_ITERATIONS[regime] * n
    cfg.warmup_env_steps = max(round_to(WARMUP_SIM_STEPS / repeat, n), -(-cfg.agent.batch_size // n) * n)
    cfg.replay_capacity = min(cfg.replay_capacity, cfg.total_env_steps) if regime == "parallel" else cfg.total_env_steps
    cfg.env.eval_episodes = EVAL_EPISODES
    cfg.wall_time_budget_s = WALL_BUDGET_S
    cfg.name = f"{PREFIX}{task}_{method}"
    return cfg


def parallel_leaderboard_config_names() -> list[str]:
    return [f"{PREFIX}{t}_{m}" for t in TASKS for m in METHODS]


def parse_parallel_leaderboard_name(name: str) -> tuple[str, str] | None:
    return parse_board_name(name, PREFIX, METHODS)
