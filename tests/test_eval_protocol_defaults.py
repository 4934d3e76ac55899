"""Defaults a user of `eval` and of the Python API relies on: the functional protocol keeps its name
for each published training size, and an evaluation without a seed is the seed-0 evaluation."""

import pytest

from nasbench_rank.cli.eval import protocol_choice
from nasbench_rank.quality.protocol import evaluate_predictor


def test_each_published_training_size_keeps_the_functional_protocols_name_and_another_is_custom():
    names = [protocol_choice("functional", None, None, None, n, None)[1] for n in (900, 100, 400, 500)]
    assert names == ["functional", "functional", "functional", ""]


def test_an_evaluation_without_a_seed_is_the_seed_0_evaluation(table):
    settings = dict(pool="functional", n_train=30, n_test=60, metric="valid", table=table,
                    predictor_kwargs={"n_estimators": 5})
    default = evaluate_predictor("xgb", **settings)
    assert [r["seed"] for r in default] == [0]
    seed_0 = evaluate_predictor("xgb", seed=0, **settings)
    assert default[0]["kendall"] == pytest.approx(seed_0[0]["kendall"])
