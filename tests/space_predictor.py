"""A tiny predictor that takes a `space` setting (as every predictor must, see `spaces.give_space`), for
search tests on spaces other than NAS-Bench-201: ridge regression on the space's one-hot encoding,
with a spread (`predict_std`) that shrinks near the training elements."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator


class SpaceRidge(BaseEstimator):
    def __init__(self, space=None, alpha: float = 1.0, seed: int = 0):
        self.space = space
        self.alpha = alpha
        self.seed = seed

    def _x(self, elements) -> np.ndarray:
        from nasbench_rank.spaces import resolve_space

        x = resolve_space(self.space).one_hot(elements).astype(np.float64)
        return np.hstack([x, np.ones((len(x), 1))])

    def fit(self, elements, y) -> "SpaceRidge":
        x = self._x(elements)
        y = np.asarray(y, dtype=np.float64)
        self.coef_ = np.linalg.solve(x.T @ x + self.alpha * np.eye(x.shape[1]), x.T @ y)
        self.train_ = x
        return self

    def predict(self, elements) -> np.ndarray:
        return (self._x(elements) @ self.coef_).astype(np.float32)

    def predict_std(self, elements) -> np.ndarray:
        x = self._x(elements)
        overlap = (x @ self.train_.T).max(axis=1) / x.sum(axis=1)
        return (1.0 - overlap + 0.01).astype(np.float32)


def registered(name: str = "space-ridge-test-only"):
    """Register `SpaceRidge` under `name` (a context manager that removes it afterwards)."""
    from contextlib import contextmanager

    from nasbench_rank.plugins import Entry, get_plugins

    @contextmanager
    def context():
        registry = get_plugins().predictors
        registry.add(Entry(name, "predictor", SpaceRidge, "tests", ""))
        try:
            yield name
        finally:
            del registry._entries[name]

    return context()
