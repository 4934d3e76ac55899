"""The search loop reproduces pinned search runs on the same seeds: `tests/data/search_reference.csv`
holds ten rows of earlier committed search tables (the best cell, and the evaluation that reached the
optimum), kept here as regression references after those tables were retired from `results/`.

Each case reruns one pinned row: when the committed run reached the optimum at evaluation E, it is
rerun with a budget of E evaluations (the strategies decide every evaluation before E exactly as in a
210-evaluation run) and must reach the same optimum cell at the same evaluation; a censored row is
rerun at its full budget and must end on the same best cell.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from nasbench_rank.loop.runs import run_search

REFERENCE = Path(__file__).resolve().parent / "data" / "search_reference.csv"

CASES = [  # (file, predictor, search, search_kwargs, dataset, seed)
    ("standard", "none", "random", "", "cifar10", 0),
    ("standard", "none", "local", "", "cifar100", 1),
    ("standard", "none", "evolution", "", "imagenet16", 6),
    ("standard", "xgb", "local", "", "cifar10", 0),
    ("standard", "xgb", "topk-local", "local=2", "cifar10", 0),
    ("article", "none", "evolution", "", "cifar100", 4),
    ("article", "xgb", "topk", "init=0;pool=all", "cifar10", 0),
    ("article", "xgb", "topk", "init=0;pool=all", "cifar100", 0),
    ("article", "xgb", "topk-local", "init=0;local=2", "cifar10", 0),
    ("article", "xgb", "evolution", "screen=24", "cifar10", 0),
]


def _kwargs(text: str) -> dict:
    out = {}
    for pair in filter(None, text.split(";")):
        key, _, value = pair.partition("=")
        out[key] = value if value == "all" else int(value)
    return out


@pytest.mark.parametrize("setting, predictor, search, search_kwargs, dataset, seed", CASES)
def test_committed_rows_are_reproduced(table, setting, predictor, search, search_kwargs, dataset, seed):
    frame = pd.read_csv(REFERENCE).fillna({"search_kwargs": ""})
    pick = frame[(frame.setting == setting) & (frame.predictor == predictor) & (frame.search == search) & (frame.search_kwargs == search_kwargs)
                 & (frame.dataset == dataset) & (frame.seed == seed)]
    assert len(pick) == 1
    row = pick.iloc[0]
    reached = bool(row["reached_optimum"])
    budget = int(row["evals_to_optimum"]) if reached else int(row["budget"])
    run, _ = run_search(None if predictor == "none" else predictor, search, dataset=dataset, seed=seed,
                        mode=row["mode"] if predictor != "none" else "pretrained", metric=row["metric"],
                        budget=budget, n_train=900, source="cifar10",
                        predictor_kwargs={"n_estimators": 200} if predictor == "xgb" else None,
                        search_kwargs=_kwargs(search_kwargs) or None, table=table)
    assert run["best_index"] == int(row["best_index"])
    if reached:
        assert run["evals_to_optimum"] == row["evals_to_optimum"]
    else:
        assert math.isnan(run["evals_to_optimum"])
