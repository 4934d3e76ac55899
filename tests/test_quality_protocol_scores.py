"""Predictor quality is scored against the protocol's scoring metric: PINAT trains on validation
accuracy and scores on test accuracy; other protocols score on what they train on."""

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.base import BaseEstimator

from nasbench_rank import plugins
from nasbench_rank.quality.protocol import evaluate_predictor, precision_top, split


class ValidLookup(BaseEstimator):
    """Predicts each cell's true validation accuracy (read from the table it is given)."""

    def __init__(self, table=None, dataset: str = "cifar10"):
        self.table = table
        self.dataset = dataset

    def fit(self, cells, y):
        return self

    def predict(self, cells):
        rows = self.table.indices_of(np.asarray(cells))
        return self.table.accuracy(self.dataset, "valid", fraction=True)[rows]


@pytest.fixture
def lookup(monkeypatch):
    from nasbench_rank.hookspecs import hookimpl

    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("valid-lookup", ValidLookup)

    loaded = plugins.load_plugins(("lookup", Plugin()))
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    return loaded


def test_pinat_scores_predictions_against_test_accuracy_not_the_training_metric(table, lookup):
    (row,) = evaluate_predictor("valid-lookup", n_train=78, seed=0, table=table, protocol="pinat", pool="full",
                                n_test="all", metric="valid", score_metric="test")
    valid = table.accuracy("cifar10", "valid", fraction=True)
    test = table.accuracy("cifar10", "test", fraction=True)
    assert row["kendall"] == pytest.approx(sps.kendalltau(valid, test).statistic, abs=1e-6)
    assert row["kendall"] < 0.99  # scored against valid itself it would be 1
    (same,) = evaluate_predictor("valid-lookup", n_train=78, seed=0, table=table, pool="full", n_test=200,
                                 metric="valid")
    assert same["kendall"] == pytest.approx(1.0) and same["score_metric"] == "valid"


def test_split_is_a_seeded_disjoint_draw_and_all_scores_the_whole_pool():
    pool = np.arange(10, 60)
    train, test = split(pool, 7, 20, seed=3)
    order = np.random.default_rng(3).permutation(pool)
    assert train.tolist() == order[:7].tolist() and test.tolist() == order[7:27].tolist()
    train, test = split(pool, 7, "all", seed=3)
    assert test.tolist() == pool.tolist() and set(train) <= set(test)


def test_precision_top_is_the_share_of_the_true_top_found_ties_counting_as_top():
    truth = np.arange(100, dtype=float)
    assert precision_top(truth, truth) == 1.0
    assert precision_top(-truth, truth) == 0.0
    pred = truth.copy()
    pred[[99, 98]] = -1  # two of the true top five missed
    assert precision_top(pred, truth) == pytest.approx(3 / 5)
    twenty = np.arange(20.0)
    assert precision_top(np.r_[twenty[:18], -1.0, 19.0], twenty) == 1.0  # k = 1 of 20: only the best counts
    ties = np.array([1.0] * 3 + [0.0] * 17)  # k = 1 of 20; any of the three tied best counts
    assert precision_top(np.array([0.0, 5.0] + [0.0] * 18), ties) == 1.0
    assert precision_top(np.arange(21.0), np.arange(21.0), fraction=0.1) == 1.0  # k = ceil(2.1) = 3
    assert precision_top(np.r_[np.arange(19.0), -1.0, -2.0], np.arange(21.0), fraction=0.1) == pytest.approx(1 / 3)
