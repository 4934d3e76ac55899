"""The k-NN predictor meets the predictor contract on every space it may be asked to run on."""

import pytest

from nasbench_rank.testing import check_predictor


@pytest.mark.parametrize("space", ["nb201", "nbgraph", "fcnet"])
def test_knn_meets_the_predictor_contract(space):
    check_predictor("knn", space=space, settings={"n_neighbors": 5})
