"""Leaderboard statistics on hand-made numbers: Kaplan-Meier with censoring, Wilson, bootstrap,
t-interval, Wilcoxon pairs, average ranks and the critical difference."""

import math

import numpy as np
import pytest

from nasbench_rank.report import stats

Z = 1.959963984540054  # two-sided 95% normal quantile


def test_km_median_accounts_for_censored_runs():
    # reached at 10, 20, 30; stopped short at 15 and 40. S(10)=4/5, S(20)=4/5*2/3=0.533, S(30)=0.267
    median, k, n = stats.km_median([10, 15, 20, 30, 40], [True, False, True, True, False])
    assert (median, k, n) == (30.0, 3, 5)
    # the median of the runs that got there would be 20: the censored run at 15 must not count as a success
    assert np.median([10, 20, 30]) == 20


def test_km_median_without_censoring_is_the_sample_median_and_nan_below_half():
    assert stats.km_median([5, 1, 3], [True, True, True]) == (3.0, 3, 3)
    median, k, n = stats.km_median([10, 20, 210, 210, 210], [True, True, False, False, False])
    assert math.isnan(median) and (k, n) == (2, 5)
    median, k, n = stats.km_median([210, 210], [False, False])
    assert math.isnan(median) and (k, n) == (0, 2)


def test_wilson_interval_matches_the_formula():
    for k, n in ((5, 10), (1, 10), (9, 20)):
        centre = (k + Z ** 2 / 2) / (n + Z ** 2)
        half = Z / (n + Z ** 2) * math.sqrt(k * (n - k) / n + Z ** 2 / 4)
        rate, lo, hi = stats.wilson_ci(k, n)
        assert rate == k / n
        assert (lo, hi) == pytest.approx((centre - half, centre + half), abs=1e-9)
    rate, lo, hi = stats.wilson_ci(0, 10)
    assert rate == 0 and lo == pytest.approx(0, abs=1e-12) and 0.25 < hi < 0.3  # never below 0, unlike k/n ± ...
    assert math.isnan(stats.wilson_ci(0, 0)[0])


def test_bootstrap_interval_contains_the_median_stays_in_the_data_and_is_seeded():
    x = np.random.default_rng(3).normal(0.8, 0.05, size=12)
    n, median, lo, hi = stats.median_ci(x)
    assert n == 12 and median == pytest.approx(np.median(x))
    assert x.min() <= lo <= median <= hi <= x.max()
    assert stats.median_ci(x) == (n, median, lo, hi)
    n, centre, lo, hi = stats.iqm_ci(x)
    assert lo <= centre <= hi
    assert stats.iqm(np.arange(1, 11)) == pytest.approx(5.5)  # mean of 3..8
    assert stats.iqm([1, 2, 3, 100]) == pytest.approx(2.5)
    one = stats.median_ci([0.7, math.nan])
    assert one[:2] == (1, 0.7) and math.isnan(one[2]) and math.isnan(one[3])
    assert stats.median_ci([0.5, 0.5, 0.5]) == (3, 0.5, 0.5, 0.5)


def test_mean_t_interval_by_hand():
    n, mean, std, lo, hi = stats.mean_t_ci([1.0, 2.0, 3.0, 4.0, float("nan")])
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2  # t(0.975, 3)
    assert (n, mean) == (4, 2.5) and std == pytest.approx(math.sqrt(5 / 3))
    assert (lo, hi) == pytest.approx((2.5 - half, 2.5 + half))


def test_paired_wilcoxon_on_a_constructed_pair():
    base = {0: 0.70, 1: 0.71, 2: 0.72, 3: 0.73, 4: 0.74, 5: 0.75, 9: 0.1}
    better = {s: v + 0.01 * (s + 1) for s, v in base.items() if s != 9}
    better[7] = 0.99  # a seed the baseline never ran: not a pair
    out = stats.paired(base, better)
    assert (out["n_pairs"], out["wins"], out["ties"], out["losses"]) == (6, 6, 0, 0)
    assert out["win_rate"] == 1.0 and out["median_diff"] == pytest.approx(0.035)
    assert out["wilcoxon_p"] == pytest.approx(2 / 2 ** 6)  # exact: only all-positive or all-negative signs
    worse = stats.paired(base, better, higher_is_better=False)
    assert (worse["wins"], worse["losses"]) == (0, 6) and worse["median_diff"] == pytest.approx(0.035)
    same = stats.paired({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same["wilcoxon_p"] == 1.0 and same["ties"] == 2 and same["win_rate"] == 0
    assert math.isnan(stats.paired({0: 1.0}, {1: 1.0})["wilcoxon_p"])


def test_average_ranks_and_critical_difference():
    scores = np.array([[0.9, 0.8, 0.7], [0.85, 0.85, 0.6], [0.7, 0.9, 0.5]])  # tasks x methods
    ranks = stats.average_ranks(scores)
    assert ranks == pytest.approx([(1 + 1.5 + 2) / 3, (2 + 1.5 + 1) / 3, 3.0])
    assert stats.average_ranks(scores, higher_is_better=False) == pytest.approx(4 - ranks)
    # Demsar (2006), table 5: q_0.05 = 2.343 for 3 methods, 2.850 for 6
    assert stats.critical_difference(3, 10) == pytest.approx(2.343 * math.sqrt(3 * 4 / 60), abs=1e-3)
    assert stats.critical_difference(6, 3) == pytest.approx(2.850 * math.sqrt(6 * 7 / 18), abs=1e-3)
    assert 0 < stats.friedman_p(scores) < 1
    assert math.isnan(stats.friedman_p(scores[:, :2]))
