"""The Python API's search rows: a pretrained search that does not say how many cells to pretrain on
pretrains on the article's 900, and the seconds per evaluation are the search's seconds over its
evaluations."""

import pytest

from nasbench_rank.loop.isolation import IN_PROCESS
from nasbench_rank.loop.runs import run_search


def test_a_pretrained_search_without_n_train_pretrains_on_900_cells(table):
    run, _ = run_search("xgb", "topk", budget=12, table=table, predictor_kwargs={"n_estimators": 5},
                        isolation=IN_PROCESS)
    assert run["mode"] == "pretrained" and run["n_train"] == 900


@pytest.mark.parametrize("budget", [1, 3])
def test_seconds_per_evaluation_are_the_search_seconds_over_the_evaluations(table, budget):
    run, _ = run_search(None, "random", budget=budget, table=table, isolation=IN_PROCESS)
    assert run["evals"] == budget
    assert run["search_seconds_per_eval"] == pytest.approx(run["search_seconds_excl_fit"] / budget)
