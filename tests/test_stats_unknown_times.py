"""Paired comparisons of evaluations-to-a-goal where some runs have no time at all (a NaN or infinite
time): those pairs are indeterminate and every other shared seed still counts."""

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
