"""Random forest (Breiman 2001) on the same encoding as the plain XGBoost (`features.tabular` of the
predictor's space: on NAS-Bench-201 one-hot + op counts)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestRegressor

from . import features


class ForestPredictor(BaseEstimator):
    """scikit-learn's RandomForestRegressor; ``predict_std`` is the spread over its trees."""

    def __init__(self, n_estimators: int = 300, max_features: float = 0.5, min_samples_leaf: int = 1,
                 paths: bool = False, seed: int = 0, n_jobs: int = 1, space=None):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.paths = paths
        self.seed = seed
        self.n_jobs = n_jobs
        self.space = space

    def _encode(self, cells) -> np.ndarray:
        from ..spaces import resolve_space

        return features.tabular(resolve_space(self.space), cells, self.paths)

    def fit(self, cells, y) -> "ForestPredictor":
        self.model_ = RandomForestRegressor(n_estimators=self.n_estimators, max_features=self.max_features,
                                            min_samples_leaf=self.min_samples_leaf, random_state=self.seed,
                                            n_jobs=self.n_jobs)
        self.model_.fit(self._encode(cells), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, cells) -> np.ndarray:
        return self.model_.predict(self._encode(cells)).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        X = self._encode(cells)
        return np.stack([t.predict(X) for t in self.model_.estimators_]).std(axis=0).astype(np.float32)
