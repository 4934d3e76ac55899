"""Which leaderboard columns are rates (shown with a Wilson interval): a yes/no column is one even
where some runs have no answer (the column then holds objects, not bools), even with one answer."""

import pandas as pd
import pytest

from nasbench_rank.report.tables import is_rate


@pytest.mark.parametrize("values", [[True, None], [False, None, None], [True, False, None], [True, False]])
def test_a_yes_no_column_with_or_without_missing_answers_is_a_rate(values):
    assert is_rate(pd.DataFrame({"optimum_found": values}), "optimum_found")


@pytest.mark.parametrize("values", [[None, None], [1.0, None], [True, 2.0], ["yes", None]])
def test_a_column_without_yes_no_answers_only_is_not_a_rate(values):
    assert not is_rate(pd.DataFrame({"best_test": values}), "best_test")
