"""A third-party nasbench-rank plugin: one predictor, registered through the entry point `ridge`."""

import numpy as np

from nasbench_rank.hookspecs import hookimpl


class RidgePredictor:
    """Ridge regression on the space's one-hot encoding: a linear model of each setting's choice
    (on NAS-Bench-201: each edge's op).

    `space` is the contract every predictor follows: None means NAS-Bench-201, otherwise a space name
    or a `nasbench_rank.spaces.Space`; the framework sets it (`spaces.give_space`) to the space of the
    elements it will pass to `fit` and `predict`. Resolve it with `spaces.resolve_space` and encode
    through the `Space` interface only (`one_hot`, `tokens`, `dag`, ...), never by the space's name.
    """

    def __init__(self, alpha: float = 1.0, space=None):
        self.alpha = alpha
        self.space = space

    # scikit-learn's settings protocol, written out so that registering the plugin imports no
    # scikit-learn (subclassing sklearn.base.BaseEstimator gives the same)
    def get_params(self, deep: bool = True) -> dict:
        return {"alpha": self.alpha, "space": self.space}

    def set_params(self, **params) -> "RidgePredictor":
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _encode(self, elements) -> np.ndarray:
        from nasbench_rank.spaces import resolve_space

        return resolve_space(self.space).one_hot(elements)

    def fit(self, elements, y):
        from sklearn.linear_model import Ridge

        self.model_ = Ridge(alpha=self.alpha).fit(self._encode(elements), np.asarray(y, dtype=np.float32))
        return self

    def predict(self, elements) -> np.ndarray:
        return self.model_.predict(self._encode(elements)).astype(np.float32)


@hookimpl
def register_predictors(register):
    register("ridge", RidgePredictor, "ridge regression on the space's one-hot encoding (example plugin)")
