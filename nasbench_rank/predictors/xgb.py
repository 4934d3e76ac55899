"""Gradient-boosted trees on the one-hot encoding plus op counts (optionally path features)."""

from __future__ import annotations

import numpy as np

from .. import features


class XGBPredictor:
    """XGBoost regressor (or pairwise ranker with ``objective="rank:pairwise"``).

    The ranker sees all training cells as one query. XGBoost's default pair selection ("topk") then
    only learns the order among the few best cells and ranks the rest poorly, so rank objectives
    sample ``pairs_per_sample`` pairs for every cell instead (``pair_method="mean"``).
    """

    def __init__(self, objective: str = "reg:squarederror", n_estimators: int = 500, max_depth: int = 6,
                 learning_rate: float = 0.05, subsample: float = 0.9, colsample_bytree: float = 0.8,
                 paths: bool = False, seed: int = 0, n_jobs: int = 1, pair_method: str = "mean",
                 pairs_per_sample: int = 8):
        self.objective = objective
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.paths = paths
        self.seed = seed
        self.n_jobs = n_jobs
        self.pair_method = pair_method
        self.pairs_per_sample = pairs_per_sample

    def _model(self):
        import xgboost

        kwargs = dict(n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
                      subsample=self.subsample, colsample_bytree=self.colsample_bytree, random_state=self.seed,
                      n_jobs=self.n_jobs, tree_method="hist")
        if self.objective.startswith("rank:"):
            return xgboost.XGBRanker(objective=self.objective, lambdarank_pair_method=self.pair_method,
                                     lambdarank_num_pair_per_sample=self.pairs_per_sample, **kwargs)
        return xgboost.XGBRegressor(objective=self.objective, **kwargs)

    def fit(self, cells, y) -> "XGBPredictor":
        X = features.tabular(cells, self.paths)
        y = np.asarray(y, dtype=np.float32)
        self.model_ = self._model()
        if self.objective.startswith("rank:"):
            self.model_.fit(X, y, qid=np.zeros(len(y), dtype=np.int64))
        else:
            self.model_.fit(X, y)
        return self

    def predict(self, cells) -> np.ndarray:
        return self.model_.predict(features.tabular(cells, self.paths)).astype(np.float32)
