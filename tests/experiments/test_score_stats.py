"""experiments.score_stats against hand-computed values on synthetic scores (and against rliable,
where the [stats] extra is installed)."""
import numpy as np
import pytest

from experiments import score_stats as st
from experiments.score_stats import Score

# [evals, seeds]; eval 0 is the warm-up one (not eligible)
VALUES = np.array([[900.0, 900.0, 900.0],
                   [10.0, 20.0, 30.0],
                   [50.0, 70.0, np.nan],   # seed 2 has no value here (survivors only)
                   [40.0, 41.0, 42.0]])
ELIGIBLE = np.array([False, True, True, True])


def test_cell_statistic_best_and_final_by_hand():
    assert st.pick_evaluation(VALUES, ELIGIBLE, Score("best")) == 2  # means 20, 60, 41
    assert st.cell_statistic(VALUES, ELIGIBLE, Score("best")) == pytest.approx(60.0)
    assert st.cell_statistic(VALUES, ELIGIBLE, Score("final")) == pytest.approx(41.0)
    window = ELIGIBLE & np.array([False, False, False, True])  # the last 20% holds eval 3 only
    assert st.cell_statistic(VALUES, window, Score("best", 0.8)) == pytest.approx(41.0)
    assert np.isnan(st.cell_statistic(VALUES, np.zeros(4, bool), Score("best")))
    with pytest.raises(ValueError, match="'best' or 'final'"):
        Score("median")


def test_bootstrap_interval_by_enumeration():
    """Two seeds: a resample is (a, a), (a, b), (b, a) or (b, b), so the 'final' statistic takes
    the values a, (a+b)/2, b with probabilities 1/4, 1/2, 1/4: the 95% percentile interval is
    [a, b]. With 'best' the evaluation is re-picked per resample."""
    v = np.array([[1.0, 3.0], [10.0, 20.0]])
    lo, hi = st.bootstrap_interval(v, np.array([True, True]), Score("final"))
    assert (lo, hi) == (10.0, 20.0)
    lo, hi = st.bootstrap_interval(v, np.array([True, True]), Score("best"))
    assert (lo, hi) == (10.0, 20.0)
    assert all(np.isnan(st.bootstrap_interval(v[:, :1], np.array([True, True]), Score("final"))))


def test_iqm_by_hand():
    # 8 entries: the middle 4 (3, 4, 5, 6) -> 4.5; 10 entries: floor(2.5) = 2 cut each end
    assert st.iqm(np.arange(1, 9).reshape(4, 2)) == pytest.approx(4.5)
    assert st.iqm(np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 100]])) == pytest.approx(np.mean([3, 4, 5, 6, 7, 8]))


def test_iqm_interval_is_stratified_and_brackets_the_point():
    rng = np.random.default_rng(0)
    scores = np.stack([rng.normal(1.0, 0.1, 10), rng.normal(0.5, 0.1, 10)], axis=1)  # [runs, tasks]
    point, lo, hi = st.iqm_interval(scores, samples=500, use_rliable=False)
    assert lo <= point <= hi and hi - lo < 0.3
    # resampling within tasks keeps each task's share: if task 1's runs all score 0.5, every
    # resample holds 10 x 0.5, so the IQM can never leave [0.5, the IQM of task 0 with them]
    fixed = scores.copy()
    fixed[:, 1] = 0.5
    _, lo, hi = st.iqm_interval(fixed, samples=500, use_rliable=False)
    assert 0.5 < lo <= hi < 1.0
    # constant scores give a zero-width interval
    point, lo, hi = st.iqm_interval(np.ones((5, 3)), samples=200, use_rliable=False)
    assert point == lo == hi == 1.0


def test_performance_profile_by_hand():
    scores = np.array([[0.2, 0.9], [1.1, 0.5]])
    np.testing.assert_allclose(st.performance_profile(scores, np.array([0.0, 0.5, 1.0, 2.0]), use_rliable=False),
                               [1.0, 0.5, 0.25, 0.0])


@pytest.mark.skipif(not st.has_rliable(), reason="rliable (the [stats] extra) is not installed")
def test_matches_rliable_definitions():
    from rliable import metrics

    rng = np.random.default_rng(1)
    scores = rng.uniform(0, 2, size=(7, 4))
    x = np.sort(scores.ravel())
    assert metrics.aggregate_iqm(scores) == pytest.approx(st.iqm(scores))
    assert st.iqm(scores) == pytest.approx(np.mean(x[7:21]))
    taus = np.linspace(0, 2, 9)
    np.testing.assert_allclose(st.performance_profile(scores, taus, use_rliable=True),
                               st.performance_profile(scores, taus, use_rliable=False))
    ours = st.iqm_interval(scores, samples=2000, use_rliable=False)
    theirs = st.iqm_interval(scores, samples=2000, use_rliable=True)
    assert ours[0] == pytest.approx(theirs[0])
    np.testing.assert_allclose(ours[1:], theirs[1:], atol=0.05)  # two bootstraps, other random draws
