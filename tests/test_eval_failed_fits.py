"""A predictor whose fit reports non-finite numbers: `eval` names the predictor and the seed."""

import pytest
from sklearn.base import BaseEstimator

from nasbench_rank import plugins
from nasbench_rank.errors import NonFiniteError
from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.quality.protocol import evaluate_predictor


class DivergingFit(BaseEstimator):
    def fit(self, x, y):
        raise NonFiniteError("the loss became nan at epoch 3")

    def predict(self, x):
        raise AssertionError("never reached")


class _Plugin:
    @hookimpl
    def register_predictors(self, register):
        register("diverging", DivergingFit, "raises NonFiniteError when fitted (tests)")


def test_a_fit_that_reports_non_finite_numbers_is_named_with_its_seed(monkeypatch, table):
    loaded = plugins.load_plugins(("failed-fit-tests", _Plugin()))
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    with pytest.raises(NonFiniteError) as failed:
        evaluate_predictor("diverging", pool="functional", n_train=20, n_test=20, seed=4, table=table)
    assert str(failed.value) == "predictor 'diverging' (seed 4): the loss became nan at epoch 3"
