"""The Python API's search defaults: a pretrained search that does not say how many cells to pretrain
on pretrains on the article's 900."""

from nasbench_rank.loop.isolation import IN_PROCESS
from nasbench_rank.loop.runs import run_search


def test_a_pretrained_search_without_n_train_pretrains_on_900_cells(table):
    run, _ = run_search("xgb", "topk", budget=12, table=table, predictor_kwargs={"n_estimators": 5},
                        isolation=IN_PROCESS)
    assert run["mode"] == "pretrained" and run["n_train"] == 900
