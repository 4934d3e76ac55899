"""The leaderboard's statistics against scipy.stats and against brute force, on random samples
(hypothesis, derandomized: the same examples every run)."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from nasbench_rank.report import stats

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)
BOOT = settings(max_examples=8, deadline=None, derandomize=True, database=None)  # two bootstraps per example
Z = 1.959963984540054  # two-sided 95% normal quantile

values = st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=2, max_size=12)
# distinct-ish values on a grid, so that sorting and ties behave as in real result columns
grid_values = st.lists(st.integers(0, 40).map(lambda v: v / 4.0), min_size=2, max_size=12)


def scipy_interval(x, statistic):
    res = sps.bootstrap((np.asarray(x, dtype=float),), statistic, n_resamples=2000, confidence_level=0.95,
                        method="percentile", vectorized=True, rng=np.random.default_rng(stats.BOOTSTRAP_SEED))
    return res.confidence_interval.low, res.confidence_interval.high


@BOOT
@given(grid_values)
@example([0.0, 0.25, 1.0, 0.5])  # a range of exactly 1
def test_median_interval_is_scipys_percentile_bootstrap_of_the_median(x):
    n, median, lo, hi = stats.median_ci(x + [math.nan, math.inf, None])
    assert n == len(x) and median == pytest.approx(np.median(x))
    if np.ptp(x) == 0:
        assert (lo, hi) == (x[0], x[0])
    else:
        assert (lo, hi) == pytest.approx(scipy_interval(x, lambda s, axis=-1: np.median(s, axis=axis)))
    assert min(x) <= lo <= hi <= max(x)


@BOOT
@given(grid_values)
@example([0.0, 0.25, 1.0, 0.5])
@example([2.0, 3.0])  # two values are enough for an interval
def test_iqm_interval_is_the_bootstrap_of_the_iqm(x):
    n, centre, lo, hi = stats.iqm_ci(x)
    assert n == len(x) and centre == pytest.approx(sps.trim_mean(x, 0.25))
    if np.ptp(x) > 0:
        assert (lo, hi) == pytest.approx(scipy_interval(x, lambda s, axis=-1: sps.trim_mean(s, 0.25, axis=axis)))


def test_one_value_has_a_centre_but_no_interval_and_none_has_neither():
    for summary in (stats.median_ci, stats.iqm_ci):
        n, centre, lo, hi = summary([3.0, math.nan])
        assert (n, centre) == (1, 3.0) and math.isnan(lo) and math.isnan(hi)
        n, centre, lo, hi = summary([None])
        assert n == 0 and math.isnan(centre) and math.isnan(lo) and math.isnan(hi)
    assert stats.iqm_ci([0.5, 0.5, 0.5]) == (3, 0.5, 0.5, 0.5)


def test_iqm_interval_is_not_the_interval_of_the_median():
    # skewed data: the IQM and the median, and so their bootstrap intervals, differ
    x = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 50.0, 60.0, 70.0, 80.0]
    _, _, mlo, mhi = stats.median_ci(x)
    _, _, ilo, ihi = stats.iqm_ci(x)
    assert (ilo, ihi) == pytest.approx(scipy_interval(x, lambda s, axis=-1: sps.trim_mean(s, 0.25, axis=axis)))
    assert (ilo, ihi) != pytest.approx((mlo, mhi))


@FAST
@given(st.integers(1, 6).flatmap(lambda q: st.lists(st.integers(-50, 50), min_size=4 * q, max_size=4 * q)))
def test_iqm_is_the_mean_of_the_middle_half(x):
    middle = sorted(x)[len(x) // 4: 3 * len(x) // 4]
    assert stats.iqm(x) == pytest.approx(np.mean(middle))


@FAST
@given(values)
def test_mean_t_interval_is_scipys_t_interval(x):
    n, mean, std, lo, hi = stats.mean_t_ci(x)
    assert n == len(x) and mean == pytest.approx(np.mean(x)) and std == pytest.approx(np.std(x, ddof=1))
    if std > 0:
        expected = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
        assert (lo, hi) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_mean_t_interval_of_one_value_has_no_spread():
    assert stats.mean_t_ci([3.0, math.nan])[:2] == (1, 3.0)
    assert all(math.isnan(v) for v in stats.mean_t_ci([3.0])[2:])
    assert stats.mean_t_ci([])[0] == 0


@FAST
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_is_the_wilson_formula(kn):
    k, n = kn
    centre = (k + Z ** 2 / 2) / (n + Z ** 2)
    half = Z / (n + Z ** 2) * math.sqrt(k * (n - k) / n + Z ** 2 / 4)
    rate, lo, hi = stats.wilson_ci(k, n)
    assert rate == k / n
    assert (lo, hi) == pytest.approx((centre - half, centre + half), abs=1e-9)


def km_median_by_hand(times, reached):
    """The Kaplan-Meier product-limit estimate, step by step: the first event time at which the share
    still short of the goal is at most one half."""
    survival = 1.0
    for t in sorted(set(t for t, r in zip(times, reached) if r)):
        at_risk = sum(1 for u in times if u >= t)
        events = sum(1 for u, r in zip(times, reached) if r and u == t)
        survival *= 1 - events / at_risk
        if survival <= 0.5 + 1e-12:
            return t
    return math.nan


runs = st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=1, max_size=15)


@FAST
@given(runs)
def test_km_median_is_the_product_limit_median(pairs):
    times = [t for t, _ in pairs]
    reached = [r for _, r in pairs]
    median, k, n = stats.km_median(times, reached)
    assert (k, n) == (sum(reached), len(pairs))
    expected = km_median_by_hand(times, reached) if any(reached) else math.nan
    assert median == expected or (math.isnan(median) and math.isnan(expected))


def test_censored_median_counts_runs_that_never_got_there_at_the_budget():
    # three runs reached the goal at 10, 20, 30; two never did within their 200 evaluations
    median, k, n = stats.km_median([10, 20, 30, 200, 200], [True, True, True, False, False])
    assert (k, n) == (3, 5)
    assert median == 30.0  # dropping the two runs would give the median of 10, 20, 30: 20
    median, k, n = stats.km_median([10, 200, 200, 200], [True, False, False, False])
    assert math.isnan(median) and (k, n) == (1, 4)  # fewer than half got there: no median


seed_values = st.dictionaries(st.integers(0, 12), st.integers(-5, 5).map(float), min_size=0, max_size=10)


@FAST
@given(seed_values, seed_values, st.booleans())
def test_paired_counts_wins_by_direction_over_shared_seeds(base, other, higher_is_better):
    out = stats.paired(base, other, higher_is_better)
    shared = sorted(set(base) & set(other))
    better = (lambda o, b: o > b) if higher_is_better else (lambda o, b: o < b)
    wins = sum(better(other[s], base[s]) for s in shared)
    ties = sum(other[s] == base[s] for s in shared)
    assert (out["n_pairs"], out["wins"], out["ties"], out["losses"]) == (len(shared), wins, ties,
                                                                           len(shared) - wins - ties)
    if not shared:
        assert math.isnan(out["win_rate"]) and math.isnan(out["median_diff"]) and math.isnan(out["wilcoxon_p"])
        return
    diffs = [other[s] - base[s] for s in shared]
    assert out["win_rate"] == pytest.approx(wins / len(shared))
    assert out["median_diff"] == pytest.approx(np.median(diffs))  # other - baseline, in the measure's units
    if any(diffs):
        assert out["wilcoxon_p"] == pytest.approx(sps.wilcoxon(diffs).pvalue)
    else:
        assert out["wilcoxon_p"] == 1.0


def test_paired_leaves_out_non_finite_values():
    out = stats.paired({0: 1.0, 1: math.nan, 2: 1.0}, {0: 2.0, 1: 5.0, 2: math.inf})
    assert (out["n_pairs"], out["wins"]) == (1, 1)


def test_paired_counts_a_lower_value_as_a_win_when_lower_is_better():
    out = stats.paired({0: 10.0, 1: 10.0, 2: 10.0}, {0: 5.0, 1: 6.0, 2: 12.0}, higher_is_better=False)
    assert (out["wins"], out["losses"], out["median_diff"]) == (2, 1, -4.0)


censored_runs = st.dictionaries(st.integers(0, 10), st.tuples(st.integers(1, 20).map(float), st.booleans()),
                                max_size=10)


def paired_censored_by_hand(base, other):
    diffs, censored, indeterminate = [], 0, 0
    for s in sorted(set(base) & set(other)):
        (tb, rb), (to, ro) = base[s], other[s]
        if rb and ro:
            diffs.append(to - tb)
        elif not rb and not ro:
            diffs.append(0.0)
            censored += 1
        elif rb and to >= tb:  # the other stopped short, after the baseline had got there
            diffs.append(to + 1 - tb)
            censored += 1
        elif ro and tb >= to:
            diffs.append(to - tb - 1)
            censored += 1
        else:
            indeterminate += 1
    return diffs, censored, indeterminate


@FAST
@given(censored_runs, censored_runs)
def test_paired_censored_orders_pairs_as_its_rules_say(base, other):
    out = stats.paired_censored(base, other)
    diffs, censored, indeterminate = paired_censored_by_hand(base, other)
    assert (out["censored_pairs"], out["indeterminate"], out["n_pairs"]) == (censored, indeterminate, len(diffs))
    assert out["wins"] == sum(d < 0 for d in diffs)  # fewer evaluations wins
    assert out["losses"] == sum(d > 0 for d in diffs)
    if diffs:
        assert out["median_diff"] == pytest.approx(np.median(diffs))


@FAST
@given(st.integers(2, 5).flatmap(lambda m: st.lists(st.lists(st.integers(0, 6), min_size=m, max_size=m),
                                                    min_size=1, max_size=6)), st.booleans())
def test_average_ranks_rank_the_best_first_with_shared_ranks_for_ties(rows, higher_is_better):
    scores = np.array(rows, dtype=float)
    expected = np.zeros(scores.shape[1])
    for row in scores:
        for j, v in enumerate(row):
            better = np.sum(row > v) if higher_is_better else np.sum(row < v)
            expected[j] += better + (np.sum(row == v) + 1) / 2
    assert stats.average_ranks(scores, higher_is_better) == pytest.approx(expected / len(scores))


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (7, 2.949), (10, 3.164)])
def test_critical_difference_matches_demsars_table(k, q):
    for n in (1, 5, 12):
        assert stats.critical_difference(k, n) / math.sqrt(k * (k + 1) / (6 * n)) == pytest.approx(q, abs=1e-3)
    assert stats.critical_difference(k, 5, alpha=0.10) < stats.critical_difference(k, 5)


def test_critical_difference_needs_two_methods_and_a_task():
    assert math.isnan(stats.critical_difference(1, 5)) and math.isnan(stats.critical_difference(3, 0))
    assert math.isfinite(stats.critical_difference(2, 1))


@FAST
@given(st.integers(3, 5).flatmap(lambda m: st.lists(st.lists(st.integers(0, 9), min_size=m, max_size=m),
                                                    min_size=2, max_size=6)))
def test_friedman_p_is_scipys(rows):
    x = np.array(rows, dtype=float)
    with np.errstate(all="ignore"):
        expected = sps.friedmanchisquare(*x.T).pvalue
    got = stats.friedman_p(x)
    assert got == pytest.approx(expected, nan_ok=True)


def test_friedman_p_needs_three_methods_and_two_tasks():
    x = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0]])
    assert math.isfinite(stats.friedman_p(x))
    assert math.isnan(stats.friedman_p(x[:1])) and math.isnan(stats.friedman_p(x[:, :2]))
    assert math.isnan(stats.friedman_p(np.array([1.0, 2.0, 3.0])))


def test_finite_keeps_only_finite_numbers():
    out = stats.finite([1, "2.5", None, "x", math.nan, math.inf, -math.inf, 3.0])
    assert out.dtype == float and out.tolist() == [1.0, 2.5, 3.0]
