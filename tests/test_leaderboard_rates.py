"""Which leaderboard columns are rates (shown with a Wilson interval): a yes/no column is one even
where some runs have no answer (the column then holds objects, not bools), even with one answer;
such a column is one of the board's measures."""

import pandas as pd
import pytest

from nasbench_rank.report.tables import is_rate


@pytest.mark.parametrize("values", [[True, None], [False, None, None], [True, False, None], [True, False]])
def test_a_yes_no_column_with_or_without_missing_answers_is_a_rate(values):
    assert is_rate(pd.DataFrame({"optimum_found": values}), "optimum_found")


@pytest.mark.parametrize("values", [[None, None], [1.0, None], [True, 2.0], ["yes", None]])
def test_a_column_without_yes_no_answers_only_is_not_a_rate(values):
    assert not is_rate(pd.DataFrame({"best_test": values}), "best_test")


def test_a_yes_no_column_with_missing_answers_is_a_measure_of_the_board():
    from nasbench_rank.report.tables import measures_of

    df = pd.DataFrame({"search": ["a", "b"], "seed": [0, 0], "optimum_found": [True, None],
                       "best_test": [93.0, 92.0]})
    assert measures_of(df, ["search"], ["best_test"]) == ["best_test", "optimum_found"]

