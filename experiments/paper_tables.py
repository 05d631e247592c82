"""The papers' tables that ``python -m experiments.reproduce`` reproduces, as data: each cell's
config, the paper's value (transcribed from ``shared/papers/``, source lines cited per table) and
how the table scores a run.

* ``ota_table1``: Ota et al. 2021, Table 1 (ota2021_training_larger_networks.txt lines 432-490;
  the slides, slides_training_larger_networks.md lines 58-64, print the same numbers as a grid).
  "The highest average returns": max over evaluations of the mean over 5 seeds (Sec. 4, line
  268). No budget is stated for the table; our configs' 1M gradient steps follow Fig. 4 and 14.
* ``bjorck_table1``: Bjorck et al. 2021, Table 1 (bjorck2021_towards_deeper_deep_rl.md lines
  142-159): from pixels, DrQ's 2-layer MLP ("MLP") against the 4-block modern critic with
  spectral normalization ("Modern+smooth", Sec. 3.2 and 5.1); scores at step 500,000 averaged
  over 10 seeds, a crashed run counting with its score before the crash (Sec. 5.2, line 136).
  The paper's Dreamer column is printed for reference only (not an agent of this library); its
  walker walk value lost a digit in our copy ("863.") and is left blank.
* ``xinet_table3``: the pruning paper's Table 3 (online_training_and_pruning_xinet.txt lines
  177-184): the highest evaluation score in the last 20% of training (line 175). The paper
  states neither its seeds nor its budget (lost with Table 2); we run 5 seeds and the configs'
  1M env steps (experiments/configs/xinet.py), and say so in the output.

* ``scaling_leaderboard``: not a paper's table. The reduced-scale study of issue 20 (2021 and
  today's methods for scaling networks on the same tasks, budget and seeds; the configs and
  what "reduced" means: experiments/configs/leaderboard.py), scored by the mean over seeds at
  the last evaluation, with each method's wall time and parameter counts beside its returns.
* ``parallel_leaderboard``: not a paper's table either. Issue 21's study of the parallel regime
  (SAC, CrossQ, FastTD3, FastSAC at 64 envs, SimBa) at equal wall time per cell
  (experiments/configs/parallel_leaderboard.py), scored the same way.

The paper's "± x" of Bjorck's table is printed beside its value; the paper does not say what it
is (most likely the standard deviation over seeds: several exceed what a standard error of 10
seeds bounded by 1000 could be).
"""
from __future__ import annotations

import dataclasses

from experiments.configs import leaderboard, parallel_leaderboard
from experiments.score_stats import Score


@dataclasses.dataclass(frozen=True)
class Cell:
    row: str  # the paper's row label
    column: str  # the paper's column label
    config: str | None  # our config name; None: a column printed for reference, not run here
    paper: float | None  # the paper's value (None: unreadable in our copy)
    paper_pm: float | None = None  # the paper's "±" where it prints one

    @property
    def id(self) -> str:
        """Folder-safe name: 'hopper__sac_ours'."""
        slug = lambda s: "".join(c if c.isalnum() else "_" for c in s.lower()).strip("_")  # noqa: E731
        return f"{slug(self.row)}__{slug(self.column)}"


@dataclasses.dataclass(frozen=True)
class PaperTable:
    name: str
    title: str
    source: str
    score: Score
    seeds: int  # the paper's seeds (our default S)
    seeds_note: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[Cell, ...]
    suites: tuple[str, ...] = ()  # config-name prefixes a user may pick (--suite), first = default
    tasks_are: str = "rows"  # which axis holds the tasks ('rows' | 'columns'), the other the methods
    leaderboard: bool = False  # no paper values: methods ranked side by side (experiments.leaderboard_report)

    def task_and_method(self, cell: Cell) -> tuple[str, str]:
        return (cell.row, cell.column) if self.tasks_are == "rows" else (cell.column, cell.row)

    def runnable(self) -> list[Cell]:
        return [c for c in self.cells if c.config is not None]


# -------------------------------------------------------------------------- Ota et al. Table 1
_OTA_ROWS = ("Hopper", "Walker2d", "HalfCheetah", "Ant", "Humanoid")
_OTA_COLUMNS = tuple(f"{a} {m}" for a in ("SAC", "TD3") for m in ("Ours", "OFENet", "Original"))
_OTA_VALUES = {  # rows as above; columns as _OTA_COLUMNS (lines 456-490)
    "Hopper": (3467.3, 3511.6, 3316.6, 3206.7, 3488.3, 3613.0),
    "Walker2d": (8802.4, 5237.0, 3401.5, 7645.8, 4915.1, 4515.6),
    "HalfCheetah": (19209.9, 16964.1, 14116.1, 18147.5, 16259.5, 13319.9),
    "Ant": (14021.0, 8086.2, 5953.1, 12811.3, 8472.4, 6148.6),
    "Humanoid": (14858.2, 9560.5, 6092.6, 13282.0, 120.6, 340.5),
}


def _ota_cells(suite: str) -> tuple[Cell, ...]:
    return tuple(
        Cell(row, col, f"{suite}{row.lower()}_{col.split()[0].lower()}_{col.split()[1].lower()}", value)
        for row in _OTA_ROWS for col, value in zip(_OTA_COLUMNS, _OTA_VALUES[row]))


# ----------------------------------------------------------------------- Bjorck et al. Table 1
_BJORCK_COLUMNS = ("MLP", "Modern+smooth", "Dreamer")
_BJORCK_HEADS = {"MLP": "mlp2", "Modern+smooth": "modern4_sn", "Dreamer": None}
_BJORCK_VALUES = {  # task -> ((value, ±) per column), lines 145-159; the paper's row label
    "ball_in_cup": ("ball in cup catch", (884.6, 262.0), (968.9, 13.3), (767.1, 63.3)),
    "cartpole_swingup": ("swingup", (805.7, 64.9), (862.3, 15.2), (592.4, 31.3)),
    "cheetah_run": ("cheetah run", (502.8, 315.5), (708.9, 46.2), (630.7, 23.3)),
    "walker_run": ("walker run", (419.2, 170.5), (501.0, 57.0), (466.2, 21.1)),
    "finger_spin": ("finger spin", (851.7, 156.8), (882.5, 149.0), (466.8, 42.1)),
    "reacher_hard": ("reacher hard", (674.7, 332.0), (875.1, 75.5), (65.7, 16.5)),
    "pendulum_swingup": ("pendulum swingup", (297.8, 352.6), (586.4, 381.3), (494.3, 98.9)),
    "hopper_hop": ("hopper hop", (196.1, 72.0), (254.2, 67.7), (136.0, 28.5)),
    "hopper_stand": ("hopper stand", (743.1, 280.5), (854.7, 63.5), (663.7, 70.3)),
    "walker_walk": ("walker walk", (754.3, 356.7), (902.2, 67.4), (None, 27.2)),
    "cartpole_balance": ("balance", (981.5, 39.6), (984.8, 29.4), (938.2, 13.0)),
    "cartpole_balance_sparse": ("balance sparse", (910.5, 268.6), (968.1, 72.3), (935.2, 22.5)),
    "cartpole_swingup_sparse": ("swingup sparse", (148.7, 299.3), (620.8, 311.0), (267.8, 25.4)),
    "reacher_easy": ("reacher easy", (753.9, 205.0), (814.0, 85.8), (830.4, 31.4)),
    "walker_stand": ("walker stand", (696.9, 329.4), (953.0, 19.8), (955.3, 8.7)),
}


def _bjorck_cells(suite: str) -> tuple[Cell, ...]:
    cells = []
    for task, (label, *values) in _BJORCK_VALUES.items():
        for col, (value, pm) in zip(_BJORCK_COLUMNS, values):
            head = _BJORCK_HEADS[col]
            cells.append(Cell(label, col, None if head is None else f"{suite}dmc_{task}_{head}", value, pm))
    return tuple(cells)


# ------------------------------------------------------------------ the pruning paper's Table 3
_XINET_ROWS = ("SAC", "SAC-Big", "OFE", "OFE-Big", "Prune-A", "Prune-B", "Prune-C")
_XINET_COLUMNS = ("HalfCheetah", "Ant", "Hopper", "Walker2D")
_XINET_VALUES = {  # rows as above; columns as _XINET_COLUMNS (lines 178-184)
    "SAC": (12757, 4974, 3197, 3998), "SAC-Big": (15534, 6345, 3534, 4976),
    "OFE": (16609, 7161, 3548, 5468), "OFE-Big": (17299, 7608, 3699, 5490),
    "Prune-A": (16774, 7229, 3659, 5679), "Prune-B": (16033, 6517, 3515, 5152),
    "Prune-C": (13593, 5829, 3470, 4803),
}


def _xinet_cells(suite: str) -> tuple[Cell, ...]:
    variant = lambda row: row.lower().replace("-", "_")  # noqa: E731  'SAC-Big' -> 'sac_big'
    return tuple(Cell(row, col, f"{suite}{col.lower()}_xinet_{variant(row)}", float(v))
                 for row in _XINET_ROWS for col, v in zip(_XINET_COLUMNS, _XINET_VALUES[row]))


# ------------------------------------------------------------ the scaling leaderboard (no paper)
def _leaderboard_cells(board=leaderboard) -> tuple[Cell, ...]:
    return tuple(Cell(label, column, f"{board.PREFIX}{task}_{method}", None)
                 for task, label in board.TASKS.items() for method, column in board.METHODS.items())


# ----------------------------------------------------------------------------------- registry
_SUITES = {
    # Gymnasium v4 on the host (the papers' MuJoCo tasks, closest to their v2), or the MJX ports
    # (the whole loop on the accelerator; other dynamics and observations)
    "ota_table1": ("gym_", ""),
    "xinet_table3": ("gym_", ""),
    "bjorck_table1": ("pixels_",),  # the paper trains from pixels only
    "scaling_leaderboard": (),  # its configs name their tasks (lb_TASK_METHOD)
    "parallel_leaderboard": (),  # plb_TASK_METHOD
}


def paper_table(name: str, suite: str | None = None) -> PaperTable:
    """The table ``name`` with cells of ``suite`` (a config-name prefix; default the first)."""
    if name not in _SUITES:
        raise ValueError(f"unknown table {name!r}; tables: {', '.join(table_names())}")
    suites = _SUITES[name]
    if not suites:
        if suite is not None:
            raise ValueError(f"table {name} has no suites (its configs name their tasks); drop --suite")
        if name == "parallel_leaderboard":
            board = parallel_leaderboard
            return PaperTable(
                name, "Parallel regime at equal wall time (reduced scale): mean return at the last evaluation",
                "experiments/configs/parallel_leaderboard.py (no paper: issue 21's study)", Score("final"), 3,
                "issue 21 asks for 3", tuple(board.TASKS.values()), tuple(board.METHODS.values()),
                _leaderboard_cells(board), leaderboard=True)
        return PaperTable(
            name, "Scaling leaderboard (reduced scale): mean return at the last evaluation",
            "experiments/configs/leaderboard.py (no paper: issue 20's study)", Score("final"), 3,
            "issue 20 asks for 3", tuple(leaderboard.TASKS.values()), tuple(leaderboard.METHODS.values()),
            _leaderboard_cells(), leaderboard=True)
    suite = suites[0] if suite is None else suite
    if suite not in suites:
        raise ValueError(f"table {name} has suites {', '.join(repr(s) for s in suites)}, not {suite!r}")
    if name == "ota_table1":
        return PaperTable(
            name, "Ota et al. 2021, Table 1: highest average return",
            "shared/papers/ota2021_training_larger_networks.txt lines 432-490", Score("best"), 5,
            "5 seeds (Sec. 4)", _OTA_ROWS, _OTA_COLUMNS, _ota_cells(suite), suites)
    if name == "bjorck_table1":
        return PaperTable(
            name, "Bjorck et al. 2021, Table 1: DeepMind Control from pixels, score at 500K env steps",
            "shared/papers/bjorck2021_towards_deeper_deep_rl.md lines 142-159", Score("final"), 10,
            "10 seeds (Sec. 5.2)", tuple(v[0] for v in _BJORCK_VALUES.values()), _BJORCK_COLUMNS,
            _bjorck_cells(suite), suites)
    return PaperTable(
        name, "Online training and pruning, Table 3: best score in the last 20% of training",
        "shared/papers/online_training_and_pruning_xinet.txt lines 175-184", Score("best", 0.8), 5,
        "not stated in the paper; 5 is our choice", _XINET_ROWS, _XINET_COLUMNS, _xinet_cells(suite), suites, "columns")


def table_names() -> list[str]:
    return list(_SUITES)
