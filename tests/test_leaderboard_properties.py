"""The leaderboard's paired comparisons and censored columns on random rows: wins follow the
measure's direction, runs that never reached a goal are censored at the evaluations they made."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_rank.report import stats, tables

FAST = settings(max_examples=15, deadline=None, derandomize=True, database=None)
FEW = settings(max_examples=5, deadline=None, derandomize=True, database=None)  # a paired table takes ~0.3 s


def eval_rows(values_by_method, measure):
    return pd.DataFrame([{"predictor": method, "target": "cifar10", "seed": seed, measure: value}
                         for method, values in values_by_method.items() for seed, value in enumerate(values)])


def test_paired_table_counts_a_lower_value_as_a_win_for_measures_where_lower_is_better():
    rows = eval_rows({"base": [0.10, 0.10, 0.10, 0.10], "new": [0.05, 0.06, 0.20, 0.10]}, "mae")
    row = tables.paired_table(rows, "eval", "base", "mae").set_index("method").loc["new"]
    assert (row["wins"], row["ties"], row["losses"]) == (2, 1, 1)
    assert row["median_diff"] == pytest.approx(-0.02)  # new - base, in the measure's own units
    rows = eval_rows({"base": [0.10, 0.10, 0.10, 0.10], "new": [0.05, 0.06, 0.20, 0.10]}, "kendall")
    row = tables.paired_table(rows, "eval", "base", "kendall").set_index("method").loc["new"]
    assert (row["wins"], row["ties"], row["losses"]) == (1, 1, 2)


def test_paired_table_lists_methods_by_name_and_is_empty_without_the_measure():
    rows = eval_rows({"base": [0.1, 0.2], "zeta": [0.3, 0.1], "alpha": [0.2, 0.2], "mid": [0.0, 0.5]}, "kendall")
    table = tables.paired_table(rows, "eval", "base", "kendall")
    assert table["method"].tolist() == ["alpha", "mid", "zeta"]
    assert tables.paired_table(rows, "eval", "base", "spearman").empty
    assert tables.paired_table(rows.drop(columns="seed"), "eval", "base", "kendall").empty
    one_seed = eval_rows({"base": [0.1], "alpha": [0.3]}, "kendall")
    assert tables.paired_table(one_seed, "eval", "base", "kendall")["wins"].tolist() == [1]


def test_paired_table_goes_on_past_a_task_without_the_baseline():
    rows = pd.concat([eval_rows({"other": [0.1, 0.2], "new": [0.3, 0.3]}, "kendall").assign(target="a-first"),
                      eval_rows({"base": [0.1, 0.2], "new": [0.3, 0.3]}, "kendall").assign(target="b-second")])
    table = tables.paired_table(rows, "eval", "base", "kendall")
    assert table["target"].tolist() == ["b-second"] and table["wins"].tolist() == [2]


@FEW
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=8),
       st.sampled_from(["kendall", "mae", "fit_seconds", "spearman"]))
def test_paired_table_is_the_paired_comparison_in_the_measures_direction(pairs, measure):
    base = [a / 10 for a, _ in pairs]
    new = [b / 10 for _, b in pairs]
    row = tables.paired_table(eval_rows({"base": base, "new": new}, measure), "eval", "base", measure).iloc[0]
    expected = stats.paired(dict(enumerate(base)), dict(enumerate(new)), measure not in tables.LOWER_IS_BETTER)
    lower = measure in ("mae", "fit_seconds")
    assert row["wins"] == sum((b < a) if lower else (b > a) for a, b in zip(base, new))
    for key in ("n_pairs", "wins", "ties", "losses"):
        assert row[key] == expected[key]
    assert row["median_diff"] == pytest.approx(np.median(np.subtract(new, base)))


def search_rows(runs):
    """runs: (evaluations to the optimum or None, evaluations made)."""
    return pd.DataFrame([{"search": "s", "dataset": "c", "budget": 200, "seed": i, "evals": made,
                          "evals_to_optimum": math.nan if t is None else float(t), "reached_optimum": t is not None}
                         for i, (t, made) in enumerate(runs)])


def test_leaderboard_counts_runs_that_never_got_there_as_censored_at_their_evaluations():
    # three runs found the optimum at 10, 20, 30; two searched their whole budget of 200 without it
    board = tables.summarize(search_rows([(10, 200), (20, 200), (30, 200), (None, 200), (None, 200)]),
                             ["search", "dataset", "budget"], ["evals_to_optimum"]).iloc[0]
    assert (board["statistic"], board["reached"], board["n"]) == ("censored", 3, 5)
    assert board["km_median"] == 30.0  # dropping the two would give 20
    # a run that stopped early (25 evaluations) is censored there: it cannot count beyond the others
    board = tables.summarize(search_rows([(10, 200), (None, 25), (40, 200), (None, 200)]),
                             ["search", "dataset", "budget"], ["evals_to_optimum"]).iloc[0]
    assert board["km_median"] == 40.0 and board["stopped_early"] == 1


@FAST
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 50)), st.integers(20, 60)), min_size=1, max_size=10))
def test_leaderboard_censored_median_is_kaplan_meier_at_the_evaluations_made(runs):
    runs = [(t if t is None or t <= made else made, made) for t, made in runs]
    board = tables.summarize(search_rows(runs), ["search", "dataset", "budget"], ["evals_to_optimum"]).iloc[0]
    times = [made if t is None else t for t, made in runs]
    median, k, n = stats.km_median(times, [t is not None for t, _ in runs])
    assert (board["reached"], board["n"]) == (k, n)
    assert board["km_median"] == median or (math.isnan(board["km_median"]) and math.isnan(median))


def test_leaderboard_value_columns_are_the_statistics_of_the_seeds():
    values = [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2]
    board = tables.summarize(eval_rows({"p": values}, "kendall"), ["predictor", "target"], ["kendall"]).iloc[0]
    n, median, lo, hi = stats.median_ci(values)
    _, iqm, ilo, ihi = stats.iqm_ci(values)
    assert (board["n"], board["median"], board["median_boot95_low"], board["median_boot95_high"]) == (n, median, lo, hi)
    assert (board["iqm"], board["iqm_boot95_low"], board["iqm_boot95_high"]) == (iqm, ilo, ihi)
    assert board["statistic"] == "value" and board["runs"] == len(values)


def test_leaderboard_rates_read_text_flags_from_a_csv():
    df = pd.DataFrame({"search": ["s"] * 4, "seed": range(4), "reached_threshold": ["True", "False", "true", "1"]})
    board = tables.summarize(df, ["search"], ["reached_threshold"]).iloc[0]
    assert (board["statistic"], board["reached"], board["n"]) == ("rate", 3, 4)
    assert (board["rate_wilson95_low"], board["rate_wilson95_high"]) == pytest.approx(stats.wilson_ci(3, 4)[1:])
