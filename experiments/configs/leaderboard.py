"""The reduced-scale leaderboard of 2021 and today's methods on this library's tasks
(``python -m experiments.reproduce scaling_leaderboard``): ``lb_TASK_METHOD``.

TASK: ``halfcheetah`` (MJX locomotion, Brax's HalfCheetah) or ``cheetah_run`` (MuJoCo
Playground's DM Control CheetahRun). METHOD:

* ``sac``: SAC with 2 x 256 ReLU MLPs (``halfcheetah_sac``; on DMC ``dmc_cheetah_run_mlp2`` at
  width 256, i.e. DrQ's hyperparameters of Bjorck et al.'s Table 3);
* ``ota``: Ota et al.'s full method (``halfcheetah_sac_ours``: OFENet, 2 x 2048 swish
  MLP-DenseNet heads, Huber loss, Ape-X-like collection by 64 envs with 8 updates per iteration;
  on DMC the same changes on the DrQ SAC of ``sac``);
* ``bjorck``: Bjorck et al.'s modern + SN heads (``dmc_cheetah_run_modern4_sn``; on HalfCheetah
  the same heads on ``halfcheetah_sac``'s SAC);
* ``simba``, ``simbav2``, ``bro_fast``: the authors' settings (experiments/configs/scaling.py).

What is equal across methods (the study's budget, our choice, overridable per cell with
``--set``): the simulator steps (SIM_STEPS; agent steps = SIM_STEPS / the method's action
repeat), the random-action warm-up (WARMUP_SIM_STEPS, the same for every method so that each
learns for the same number of samples), the evaluation cadence (EVALUATIONS evenly spaced
evaluations) and episodes (EVAL_EPISODES). Every method keeps its own update-to-data ratio,
number of envs, batch, optimiser and action repeat: they are part of the method.

Reduced scale: every hidden width of every network (actor, critic, value, BRO's optimistic
actor, OFENet's units) is divided by WIDTH_DIVISOR, except the ``sac`` baseline's 2 x 256,
which is already small. At full width SimBa's update costs 0.78 s per env step for 3 seeds on
the 2-core dev VM (experiments.measure_cell, 2026-12-06), so its 1M-step run would take 9 days.
The parameter counts of the networks actually run are in the table.
"""
from __future__ import annotations

import ml_collections

from experiments.configs import families
from experiments.configs.dmc import dmc_config, head_torso
from experiments.configs.scaling import dmc as scaling_dmc, locomotion as scaling_locomotion

# the table's labels (experiments/paper_tables.py); cell ids are TASK__METHOD
TASKS = {"halfcheetah": "HalfCheetah", "cheetah_run": "cheetah run"}
METHODS = {"sac": "SAC", "ota": "Ota", "bjorck": "Bjorck", "simba": "SimBa", "simbav2": "SimbaV2",
           "bro_fast": "BRO (Fast)"}
SIM_STEPS = 20_000
WARMUP_SIM_STEPS = 5_000
EVALUATIONS = 4
EVAL_EPISODES = 5
WIDTH_DIVISOR = 8
NETWORKS = ("actor", "critic", "value", "actor_o")
PREFIX = "lb_"


def _base(task: str, method: str) -> ml_collections.ConfigDict:
    dmc = task != "halfcheetah"
    if method in ("simba", "simbav2", "bro_fast"):
        return scaling_dmc(task, method) if dmc else scaling_locomotion(task, method, gym=False)
    if method == "ota" and not dmc:
        return families.paper_config(task, "sac", "ours", gym=False)
    cfg = dmc_config(task, "mlp2", spectral=False) if dmc else families.locomotion_config(task, "sac", gym=False)
    if method == "sac":
        for net in ("actor", "critic"):
            cfg.agent[net].width = 256
    elif method == "bjorck":
        cfg = dmc_config(task, "modern4", spectral=True) if dmc else cfg
        if not dmc:
            cfg.agent.actor = head_torso("modern4", "actor", spectral=True)
            cfg.agent.critic = head_torso("modern4", "critic", spectral=True)
    elif method == "ota":  # Ota et al.'s three changes (families.paper_config 'ours') on DrQ's SAC
        cfg.agent.features = "ofenet"
        cfg.agent.ofenet.batch_size = cfg.agent.batch_size
        for net in ("actor", "critic"):
            t = cfg.agent[net]
            t.arch, t.widths, t.width, t.depth, t.activation = "densenet", None, 2048, 2, "swish"
        cfg.agent.critic_loss = "huber"
        families.apex(cfg)
    return cfg


def shrink_widths(cfg) -> None:
    for net in NETWORKS:
        if net in cfg.agent:
            t = cfg.agent[net]
            t.width = max(1, t.width // WIDTH_DIVISOR)
            if t.widths:
                t.widths = tuple(max(1, w // WIDTH_DIVISOR) for w in t.widths)
    if cfg.agent.features == "ofenet":
        cfg.agent.ofenet.units = max(1, cfg.agent.ofenet.units // WIDTH_DIVISOR)


def round_to(x: float, n: int) -> int:
    return max(n, int(round(x / n)) * n)


def _budget(cfg) -> None:
    repeat, n = cfg.env.action_repeat, cfg.env.num_envs
    cfg.total_env_steps = round_to(SIM_STEPS / repeat, n)
    cfg.eval_every_env_steps = round_to(cfg.total_env_steps / EVALUATIONS, n)
    cfg.total_env_steps = cfg.eval_every_env_steps * EVALUATIONS
    cfg.log_every_env_steps = cfg.eval_every_env_steps
    cfg.checkpoint_every_env_steps = cfg.eval_every_env_steps
    cfg.warmup_env_steps = max(round_to(WARMUP_SIM_STEPS / repeat, n), -(-cfg.agent.batch_size // n) * n)
    cfg.replay_capacity = cfg.total_env_steps
    cfg.env.eval_episodes = EVAL_EPISODES


def leaderboard_config(task: str, method: str) -> ml_collections.ConfigDict:
    cfg = _base(task, method)
    if method != "sac":
        shrink_widths(cfg)
    _budget(cfg)
    cfg.name = f"{PREFIX}{task}_{method}"
    return cfg


def leaderboard_config_names() -> list[str]:
    return [f"{PREFIX}{t}_{m}" for t in TASKS for m in METHODS]


def parse_board_name(name: str, prefix: str, methods) -> tuple[str, str] | None:
    """(task, method) of a leaderboard config name PREFIXTASK_METHOD, None when it is not one."""
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    for task in TASKS:
        if rest.startswith(task + "_") and rest[len(task) + 1:] in methods:
            return task, rest[len(task) + 1:]
    return None


def parse_leaderboard_name(name: str) -> tuple[str, str] | None:
    return parse_board_name(name, PREFIX, METHODS)

