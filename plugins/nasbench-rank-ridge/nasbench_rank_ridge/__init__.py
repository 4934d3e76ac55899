"""A third-party nasbench-rank plugin: one predictor, registered through the entry point `ridge`."""

import numpy as np

from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.space import one_hot


class RidgePredictor:
    """Ridge regression on the 30-dim one-hot encoding: a linear model of each edge's op."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, cells, y):
        from sklearn.linear_model import Ridge

        self.model_ = Ridge(alpha=self.alpha).fit(one_hot(cells), np.asarray(y, dtype=np.float32))
        return self

    def predict(self, cells) -> np.ndarray:
        return self.model_.predict(one_hot(cells)).astype(np.float32)


@hookimpl
def register_predictors(register):
    register("ridge", RidgePredictor, "ridge regression on the one-hot encoding (example plugin)")
