"""The Python API's search rows: a pretrained search that does not say how many cells to pretrain on
pretrains on the article's 900, the seconds per evaluation are the search's seconds over its
evaluations, and the summary over seeds gives censored medians of the hours to the optimum."""

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


def test_the_summary_over_seeds_gives_the_censored_median_hours_to_the_optimum():
    from nasbench_rank.loop.runs import summarise

    base = {"best_test": 93.0, "reached_optimum": True, "evals_to_optimum": 5, "reached_threshold": True,
            "evals_to_threshold": 3, "gpu_hours": 2.0, "fit_seconds_total": 0.0, "search_seconds_per_eval": 0.1}
    runs = [{**base, "gpu_hours_to_optimum": 1.0, "clock_hours_to_optimum": 0.5},
            {**base, "gpu_hours_to_optimum": 3.0, "clock_hours_to_optimum": 1.5},
            {**base, "gpu_hours_to_optimum": "", "clock_hours_to_optimum": None}]  # never got there
    out = summarise(runs)
    assert out["median_gpu_hours_to_optimum"] == 3.0 and out["median_clock_hours_to_optimum"] == 1.5
