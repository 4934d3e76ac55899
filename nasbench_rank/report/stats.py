"""Statistics of a leaderboard: robust centres with bootstrap intervals, rates with Wilson intervals,
censored evaluation counts, paired tests over shared seeds and average ranks across tasks.

Every interval here is a two-sided 95% interval, and every function says which kind it returns:

- `median_ci`, `iqm_ci`: percentile bootstrap (scipy.stats.bootstrap, 2,000 resamples, fixed seed),
  so they never leave the range of the data;
- `mean_t_ci`: the t-interval of the mean, mean ± t(0.975, n-1)·s/√n (s with ddof 1);
- `wilson_ci`: the Wilson score interval of a rate k/n;
- `km_median`: the Kaplan-Meier median of a right-censored count (a run that never reached its goal
  is censored at the evaluations it made), with "reached k of n"; never a mean over the runs that
  reached the goal;
- `paired`: Wilcoxon signed-rank p-value, wins/ties/losses over the seeds two configurations share;
- `average_ranks` / `critical_difference`: Friedman test and Nemenyi critical difference.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95
N_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261128


def finite(values: Iterable[float]) -> np.ndarray:
    """The finite values as a float array (None, NaN and inf dropped)."""
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return np.asarray(out, dtype=float)


def iqm(values: Iterable[float], axis: int = -1) -> float | np.ndarray:
    """Interquartile mean: the mean of the middle half (25% trimmed from each end)."""
    return stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def _bootstrap(x: np.ndarray, statistic) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    if np.ptp(x) == 0:  # every resample gives the same value
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), statistic, n_resamples=N_RESAMPLES, confidence_level=LEVEL, method="percentile",
                          vectorized=True, rng=np.random.default_rng(BOOTSTRAP_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def median_ci(values: Iterable[float]) -> tuple[int, float, float, float]:
    """(n, median, low, high): the median of the finite values and its 95% percentile-bootstrap interval
    (NaN interval with fewer than 2 values)."""
    x = finite(values)
    if len(x) == 0:
        return 0, math.nan, math.nan, math.nan
    lo, hi = _bootstrap(x, lambda s, axis=-1: np.median(s, axis=axis))
    return len(x), float(np.median(x)), lo, hi


def iqm_ci(values: Iterable[float]) -> tuple[int, float, float, float]:
    """(n, IQM, low, high): interquartile mean and its 95% percentile-bootstrap interval."""
    x = finite(values)
    if len(x) == 0:
        return 0, math.nan, math.nan, math.nan
    lo, hi = _bootstrap(x, lambda s, axis=-1: iqm(s, axis=axis))
    return len(x), float(iqm(x)), lo, hi


def mean_t_ci(values: Iterable[float]) -> tuple[int, float, float, float, float]:
    """(n, mean, std, low, high): mean, sample std (ddof 1) and the 95% t-interval of the mean."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return 1, mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * std / math.sqrt(n)
    return n, mean, std, mean - half, mean + half


def wilson_ci(k: int, n: int) -> tuple[float, float, float]:
    """(rate, low, high): k/n and its 95% Wilson score interval (NaN when n is 0)."""
    if n <= 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def km_median(times: Sequence[float], reached: Sequence[bool]) -> tuple[float, int, int]:
    """(median, k, n): Kaplan-Meier median of evaluations-to-goal, k runs of n reached it.

    `times[i]` is when run i reached the goal, or, where `reached[i]` is false, the evaluations it made
    before it stopped (censored there). The median is the first time the estimated share of runs still
    short of the goal falls to one half or below; NaN when it never does (fewer than half reached it
    within what the runs observed)."""
    t = np.asarray(times, dtype=float)
    d = np.asarray(reached, dtype=bool)
    keep = np.isfinite(t)
    t, d = t[keep], d[keep]
    n, k = len(t), int(d.sum())
    if k == 0:
        return math.nan, 0, n
    data = stats.CensoredData(uncensored=t[d], right=t[~d])
    sf = stats.ecdf(data).sf
    below = np.nonzero(sf.probabilities <= 0.5 + 1e-12)[0]
    return (float(sf.quantiles[below[0]]) if len(below) else math.nan), k, n


def paired(baseline: dict, other: dict, higher_is_better: bool = True) -> dict:
    """Compare two configurations over their shared seeds ({seed: value} each, finite values only).

    Returns n_pairs, wins/ties/losses of `other` against `baseline`, win_rate = wins / n_pairs,
    median_diff (other - baseline) and the two-sided Wilcoxon signed-rank p-value (scipy.stats.wilcoxon
    with its defaults: tied pairs dropped, p-value method "auto"; 1.0 when every pair ties, NaN with
    no pair)."""
    seeds = sorted(s for s in set(baseline) & set(other)
                   if math.isfinite(float(baseline[s])) and math.isfinite(float(other[s])))
    diff = np.array([float(other[s]) - float(baseline[s]) for s in seeds])
    if not higher_is_better:
        diff = -diff
    n = len(diff)
    out = {"n_pairs": n, "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()), "losses": int((diff < 0).sum()),
           "win_rate": float((diff > 0).sum() / n) if n else math.nan,
           "median_diff": float(np.median(diff if higher_is_better else -diff)) if n else math.nan}
    if n == 0:
        p = math.nan
    elif not diff.any():
        p = 1.0
    else:
        p = float(stats.wilcoxon(diff).pvalue)
    out["wilcoxon_p"] = p
    return out


def paired_censored(baseline: dict, other: dict) -> dict:
    """`paired` for evaluations-to-a-goal, lower is better, where a run may never have got there.

    Each side is {seed: (time, reached)}: `time` is when the run reached the goal, or, where `reached`
    is false, the evaluations it made (it is censored there). A pair where both reached compares the
    times; both censored is a tie; one censored at c against one that reached at t is ordered when
    c >= t (the censored run is later), with difference c + 1 - t (a lower bound of the true one), and
    left out as `indeterminate` when c < t (the censored run stopped before the other got there).
    Returns `paired`'s fields (median_diff: other - baseline, in evaluations, from those bounds) plus
    censored_pairs (pairs with a censored side) and indeterminate."""
    seeds = sorted(set(baseline) & set(other))
    diffs, censored, indeterminate = [], 0, 0
    for s in seeds:
        (tb, rb), (to, ro) = baseline[s], other[s]
        tb, to = float(tb), float(to)
        if not (math.isfinite(tb) and math.isfinite(to)):
            indeterminate += 1
            continue
        if rb and ro:
            diffs.append(to - tb)
            continue
        censored += 1
        if not rb and not ro:
            diffs.append(0.0)
        elif rb and to >= tb:  # other censored after the baseline got there
            diffs.append(to + 1 - tb)
        elif ro and tb >= to:  # baseline censored after the other got there
            diffs.append(to - (tb + 1))
        else:
            censored -= 1
            indeterminate += 1
    out = paired(dict(enumerate(diffs)), dict(enumerate([0.0] * len(diffs))), higher_is_better=True)
    # `paired` saw (0 - diff): wins are pairs where the other took fewer evaluations
    out["median_diff"] = float(np.median(diffs)) if diffs else math.nan
    out["censored_pairs"] = censored
    out["indeterminate"] = indeterminate
    return out


def average_ranks(scores: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Average rank of each method (columns) over tasks (rows); rank 1 is best, ties share ranks."""
    x = np.asarray(scores, dtype=float)
    ranks = stats.rankdata(-x if higher_is_better else x, axis=1)
    return ranks.mean(axis=0)


def critical_difference(n_methods: int, n_tasks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_alpha·sqrt(k(k+1)/(6N)), q_alpha the studentized
    range quantile over √2 (infinite degrees of freedom)."""
    if n_methods < 2 or n_tasks < 1:
        return math.nan
    q = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(n_methods * (n_methods + 1) / (6.0 * n_tasks)))


def friedman_p(scores: np.ndarray) -> float:
    """Friedman test p-value that all methods (columns) rank alike over tasks (rows); NaN when it cannot
    be computed (fewer than 3 methods or 2 tasks)."""
    x = np.asarray(scores, dtype=float)
    if x.ndim != 2 or x.shape[1] < 3 or x.shape[0] < 2:
        return math.nan
    with np.errstate(all="ignore"):
        p = stats.friedmanchisquare(*x.T).pvalue
    return float(p)
