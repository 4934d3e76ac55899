"""A third-party predictor plugin for the tests: scikit-learn's `KNeighborsRegressor` on the space's
one-hot encoding. Its fitted state lives in private attributes of the estimator (`_fit_X`,
`_fit_method`, a `KDTree`), so a saved copy must keep the estimator whole."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from nasbench_rank.hookspecs import hookimpl

NAME = "knn-regressor"


class KNNRegressorPredictor(BaseEstimator):
    def __init__(self, n_neighbors: int = 5, algorithm: str = "kd_tree", space=None):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.space = space

    def _encode(self, elements) -> np.ndarray:
        from nasbench_rank.spaces import resolve_space

        return resolve_space(self.space).one_hot(elements).astype(np.float64)

    def fit(self, elements, y) -> "KNNRegressorPredictor":
        from sklearn.neighbors import KNeighborsRegressor

        y = np.asarray(y, dtype=np.float64)
        k = min(self.n_neighbors, len(y))
        self.model_ = KNeighborsRegressor(n_neighbors=k, weights="distance", algorithm=self.algorithm)
        self.model_.fit(self._encode(elements), y)
        return self

    def predict(self, elements) -> np.ndarray:
        return self.model_.predict(self._encode(elements)).astype(np.float32)


@hookimpl
def register_predictors(register):
    register(NAME, KNNRegressorPredictor, "k nearest neighbours by one-hot encoding (test plugin)")
