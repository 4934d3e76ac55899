"""A k-nearest-neighbours performance predictor for nasbench-rank.

It predicts an element's utility as the mean utility of the `n_neighbors` training elements nearest
to it by one-hot encoding, and the spread of those labels as its uncertainty.
"""

import numpy as np
from sklearn.base import BaseEstimator

from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.spaces import resolve_space


class KNNPredictor(BaseEstimator):
    def __init__(self, n_neighbors: int = 10, space=None):
        # scikit-learn's rule: __init__ only stores its keyword arguments, unchanged
        self.n_neighbors = n_neighbors
        self.space = space  # None means NAS-Bench-201; the framework sets the space it runs on

    def _encode(self, elements):
        return resolve_space(self.space).one_hot(elements)  # through the Space interface only

    def fit(self, X, y):
        from sklearn.neighbors import NearestNeighbors  # imported when used, not at plugin load

        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        self.y_ = np.asarray(y, dtype=np.float32)
        k = min(self.n_neighbors, len(self.y_))
        self.index_ = NearestNeighbors(n_neighbors=k).fit(self._encode(X))
        return self

    def _neighbour_labels(self, X):
        _, idx = self.index_.kneighbors(self._encode(X))
        return self.y_[idx]  # (n, k)

    def predict(self, X):
        return self._neighbour_labels(X).mean(axis=1)

    def predict_std(self, X):  # optional: uncertainty-aware strategies (ucb) need it
        return self._neighbour_labels(X).std(axis=1)


@hookimpl
def register_predictors(register):
    register("knn", KNNPredictor, "mean utility of the k nearest elements by one-hot encoding")
