"""Gaussian process regression on the live-path encoding (the encoding BANANAS showed to suit NB201
cells), with a learned constant x RBF kernel plus white noise; `predict_std` is the posterior std."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from .. import features, space


def encode(cells) -> np.ndarray:
    """Live paths plus the one-hot of the effective ops: two cells at distance 0 compute the same
    function up to isomorphism of paths."""
    eff = space.effective_ops(cells)
    return np.concatenate([features.live_paths(eff), space.one_hot(eff)], axis=1)


class GPPredictor(BaseEstimator):
    """scikit-learn GaussianProcessRegressor (labels normalised; kernel hyperparameters fitted by
    marginal likelihood with ``restarts`` extra random starts, seeded)."""

    def __init__(self, length_scale: float = 3.0, noise: float = 0.1, restarts: int = 0, seed: int = 0):
        self.length_scale = length_scale
        self.noise = noise
        self.restarts = restarts
        self.seed = seed

    def fit(self, cells, y) -> "GPPredictor":
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(self.length_scale, (1e-1, 1e2)) \
            + WhiteKernel(self.noise, (1e-5, 1e1))
        self.model_ = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=self.restarts,
                                               random_state=self.seed)
        self.model_.fit(encode(cells), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, cells) -> np.ndarray:
        return self.model_.predict(encode(cells)).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        return self.model_.predict(encode(cells), return_std=True)[1].astype(np.float32)
