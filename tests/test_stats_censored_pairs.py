"""Paired comparisons of evaluations-to-a-goal with censored runs: a pair with no time at all (NaN or
infinite) is indeterminate and every other shared seed still counts; a run censored after the other
reached the goal counts as one evaluation later than where it stopped."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_rank.report import stats

times = st.tuples(st.integers(1, 50), st.booleans())


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.integers(0, 30), st.tuples(times, times), min_size=1, max_size=12),
       st.sets(st.integers(0, 30), min_size=1, max_size=4))
def test_a_pair_without_a_time_is_indeterminate_and_the_other_seeds_still_count(pairs, unknown):
    base = {s: b for s, (b, _) in pairs.items()}
    other = {s: o for s, (_, o) in pairs.items()}
    for s in unknown:  # these seeds' baseline runs have no time
        base[s] = (math.nan, False)
        other.setdefault(s, (3, True))
    out = stats.paired_censored(base, other)
    known = stats.paired_censored({s: v for s, v in base.items() if s not in unknown},
                                  {s: v for s, v in other.items() if s not in unknown})
    assert out["indeterminate"] == known["indeterminate"] + len(unknown)
    assert out["n_pairs"] == known["n_pairs"]
    assert out["censored_pairs"] == known["censored_pairs"]


def test_a_run_censored_after_the_other_reached_the_goal_counts_one_evaluation_later():
    # the baseline reached the goal at 5; the other stopped at 9 without reaching it: at least 9 + 1 - 5
    out = stats.paired_censored({0: (5, True)}, {0: (9, False)})
    assert out["median_diff"] == 5.0 and out["censored_pairs"] == 1
    out = stats.paired_censored({0: (9, False)}, {0: (5, True)})  # and the other way round
    assert out["median_diff"] == -5.0
