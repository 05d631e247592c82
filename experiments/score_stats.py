"""Statistics of a reproduced table (experiments.reproduce): a cell's score and its 95% bootstrap
interval over seeds, and across the tasks of a table the interquartile mean (IQM) of normalised
scores with stratified bootstrap intervals and performance profiles, as Agarwal et al. 2021
("Deep RL at the Edge of the Statistical Precipice") define them.

With ``rliable`` installed (``pip install "largerl-jax[stats]"``) the IQM's intervals and the
profiles come from it; without it from the numpy code below, which follows the same
definitions (tests/experiments/test_score_stats.py checks both against hand-computed values and
each other). Cell intervals are always ours: a cell's statistic (the mean over seeds at the best
evaluation) is not one of rliable's aggregate metrics.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

try:  # optional: the [stats] extra
    from rliable import library as rly
    from rliable import metrics as rly_metrics
except Exception:  # noqa: BLE001  absent, or present but broken by its dependencies (arch 7 under pandas 3)
    rly = rly_metrics = None

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


def has_rliable() -> bool:
    return rly is not None


@dataclasses.dataclass(frozen=True)
class Score:
    """How a table scores one run: the evaluations at env steps >= ``from_fraction`` x the run's
    budget (those after the first gradient step), then either the highest mean over seeds
    ('best', Ota et al.'s "highest average return", the pruning paper's best score in the last
    20%) or the mean over seeds of the last evaluation ('final')."""

    reduce: str  # 'best' | 'final'
    from_fraction: float = 0.0

    def __post_init__(self):
        if self.reduce not in ("best", "final"):
            raise ValueError(f"Score.reduce must be 'best' or 'final', got {self.reduce!r}")


def _seed_means(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        n = np.sum(~np.isnan(values), axis=-1)
        return np.where(n > 0, np.nansum(values, axis=-1) / np.maximum(n, 1), np.nan)


def pick_evaluation(values: np.ndarray, eligible: np.ndarray, score: Score) -> int | None:
    """Index of the evaluation ``score`` reports, from ``values`` [evals, seeds] (NaN: no
    value) and ``eligible`` [evals] (in the window, after training started); None if none is."""
    means = _seed_means(values)
    candidates = np.flatnonzero(eligible & ~np.isnan(means))
    if not candidates.size:
        return None
    if score.reduce == "final":
        return int(candidates[-1])
    return int(candidates[np.argmax(means[candidates])])


def cell_statistic(values: np.ndarray, eligible: np.ndarray, score: Score) -> float:
    i = pick_evaluation(values, eligible, score)
    return float("nan") if i is None else float(_seed_means(values[i]))


def bootstrap_interval(values: np.ndarray, eligible: np.ndarray, score: Score, seed: int = 0,
                       samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """Percentile interval (CONFIDENCE) of the cell statistic over seeds resampled with
    replacement; the evaluation is re-picked in every resample, so a 'best' cell's selection
    is part of the uncertainty. (nan, nan) with fewer than 2 seeds."""
    n = values.shape[1]
    if n < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(samples, n))
    stats = np.array([cell_statistic(values[:, row], eligible, score) for row in idx])
    stats = stats[~np.isnan(stats)]
    if not stats.size:
        return float("nan"), float("nan")
    lo, hi = np.percentile(stats, [50 * (1 - CONFIDENCE), 100 - 50 * (1 - CONFIDENCE)])
    return float(lo), float(hi)


# ------------------------------------------------------------------- across tasks (rliable's)

def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all entries of ``scores`` [runs, tasks]: the mean of the middle 50%
    (scipy.stats.trim_mean with 25% cut at each end, as rliable's aggregate_iqm)."""
    x = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    cut = int(0.25 * x.size)  # trim_mean's count: floor(proportion x n) from each end
    return float(np.mean(x[cut: x.size - cut]))


def _stratified_resamples(scores: np.ndarray, rng: np.random.Generator, samples: int):
    """Resamples runs with replacement within each task (column) independently."""
    runs, tasks = scores.shape
    for _ in range(samples):
        idx = rng.integers(0, runs, size=(runs, tasks))
        yield np.take_along_axis(scores, idx, axis=0)


def iqm_interval(scores: np.ndarray, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES,
                 use_rliable: bool | None = None) -> tuple[float, float, float]:
    """(IQM, low, high) of ``scores`` [runs, tasks] with a stratified bootstrap percentile
    interval; through rliable when it is installed (``use_rliable`` None) or asked for."""
    scores = np.asarray(scores, dtype=np.float64)
    if (rly is not None) if use_rliable is None else use_rliable:
        with warnings.catch_warnings():  # arch's notice that random_state will become a Generator
            warnings.simplefilter("ignore", FutureWarning)
            point, ci = rly.get_interval_estimates(
                {"x": scores}, lambda s: np.array([rly_metrics.aggregate_iqm(s)]), reps=samples,
                confidence_interval_size=CONFIDENCE, random_state=np.random.RandomState(seed))
        return float(point["x"][0]), float(ci["x"][0, 0]), float(ci["x"][1, 0])
    rng = np.random.default_rng(seed)
    boot = np.array([iqm(s) for s in _stratified_resamples(scores, rng, samples)])
    lo, hi = np.percentile(boot, [50 * (1 - CONFIDENCE), 100 - 50 * (1 - CONFIDENCE)])
    return iqm(scores), float(lo), float(hi)


def performance_profile(scores: np.ndarray, taus: np.ndarray, use_rliable: bool | None = None) -> np.ndarray:
    """Fraction of all runs x tasks whose normalised score exceeds each tau (rliable's run-score
    distribution, its default profile)."""
    scores = np.asarray(scores, dtype=np.float64)
    if (rly is not None) if use_rliable is None else use_rliable:
        return np.asarray(rly.score_distributions(scores, np.asarray(taus)), dtype=np.float64)
    return np.array([float(np.mean(scores > t)) for t in taus])
