"""Gaussian process regression on the path encoding (the encoding BANANAS showed to suit NB201
cells) plus the one-hot, both of each element's canonical form, with a learned constant x RBF kernel
plus white noise; `predict_std` is the posterior std. A space without a DAG has no paths: the GP
reads the one-hot alone."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from . import features
from ..spaces import Space, resolve_space


def encode(space: Space, X) -> np.ndarray:
    """Path encoding (where the space has a DAG) plus the one-hot, of the canonical form (NB201: live
    paths and one-hot of the effective ops, so two cells at distance 0 compute the same function up
    to isomorphism of paths)."""
    canon = space.canonical(X)
    parts = [features.path_features(space, canon)] if space.has_dag else []
    parts.append(np.asarray(space.one_hot(canon), dtype=np.float32))
    return np.concatenate(parts, axis=1)


class GPPredictor(BaseEstimator):
    """scikit-learn GaussianProcessRegressor (labels normalised; kernel hyperparameters fitted by
    marginal likelihood with ``restarts`` extra random starts, seeded). ``space``: None (NAS-Bench-201),
    a name or a Space: the space of the elements."""

    def __init__(self, length_scale: float = 3.0, noise: float = 0.1, restarts: int = 0, seed: int = 0, space=None):
        self.length_scale = length_scale
        self.noise = noise
        self.restarts = restarts
        self.seed = seed
        self.space = space

    def _encode(self, cells) -> np.ndarray:
        return encode(resolve_space(self.space), cells)

    def fit(self, cells, y) -> "GPPredictor":
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(self.length_scale, (1e-1, 1e2)) \
            + WhiteKernel(self.noise, (1e-5, 1e1))
        self.model_ = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=self.restarts,
                                               random_state=self.seed)
        with warnings.catch_warnings():  # a hyperparameter at its bound is a valid fit, not news
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(self._encode(cells), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, cells) -> np.ndarray:
        return self.model_.predict(self._encode(cells)).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        return self.model_.predict(self._encode(cells), return_std=True)[1].astype(np.float32)
