"""Proxies: scores that need no training labels. `fit` ignores its labels (``needs_labels`` is
False, so an evaluation charges nothing for them); a proxy that reads benchmark results pays for
them, and reports what it paid in ``query_gpu_hours_`` after each `predict`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .. import space

#: Trainable parameters of one NB201 edge op, summed over the 15 cells of the network (5 cells per
#: stage at 16, 32 and 64 channels): ReLU-Conv-BN with C*C*k*k weights and an affine BN (2C).
_EDGE_PARAMS = {2: sum(5 * (c * c * 1 + 2 * c) for c in (16, 32, 64)),   # nor_conv_1x1: 28,000
                3: sum(5 * (c * c * 9 + 2 * c) for c in (16, 32, 64))}   # nor_conv_3x3: 243,040
#: Everything outside the cells: stem (3x3 conv to 16 channels + BN), the two residual reduction
#: blocks (16->32, 32->64), the last BN and the linear classifier (64 inputs + bias per class).
_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
_BODY = (27 * 16 + 32) + (9 * 16 * 32 + 64 + 9 * 32 * 32 + 64 + 16 * 32) + (9 * 32 * 64 + 128 + 9 * 64 * 64 + 128 + 32 * 64) + 128


def parameter_count(cells, dataset: str = "cifar10") -> np.ndarray:
    """Trainable parameters of each cell's NB201 network, computed from its structure (the
    topology the benchmark trains: every edge is built, dead or not, so dead convolutions count)."""
    from ..bench import canonical_dataset

    arr = space.as_array(cells)
    classes = _CLASSES[canonical_dataset(dataset)]
    per_cell = sum(n * (arr == op).sum(axis=1) for op, n in _EDGE_PARAMS.items())
    return (_BODY + 65 * classes + per_cell).astype(np.float64)


class ParamsProxy(BaseEstimator):
    """Predicts the parameter count (millions), computed from the cell's structure: free to query."""

    needs_labels = False

    def __init__(self, dataset: str = "cifar10"):
        self.dataset = dataset

    def fit(self, cells, y=None) -> "ParamsProxy":
        self.fitted_ = True
        return self

    def predict(self, cells) -> np.ndarray:
        self.query_gpu_hours_ = 0.0
        return (parameter_count(cells, self.dataset) / 1e6).astype(np.float32)


class Acc12Proxy(BaseEstimator):
    """Predicts the 12-epoch validation accuracy (fraction) read from the table. Each cell scored
    costs what training it for 12 epochs costs, taken as 12/200 of the table's 200-epoch training
    seconds on `dataset`; the sum over the cells of the last `predict` is ``query_gpu_hours_``."""

    needs_labels = False
    EPOCHS = 12

    def __init__(self, dataset: str = "cifar10", metric: str = "valid", table=None):
        self.dataset = dataset
        self.metric = metric
        self.table = table

    def fit(self, cells, y=None) -> "Acc12Proxy":
        from .. import bench

        self.table_ = self.table if self.table is not None else bench.load()
        self.values_ = self.table_.accuracy(self.dataset, self.metric, epochs=self.EPOCHS, fraction=True)
        self.seconds_ = self.table_.train_seconds(self.dataset) * self.EPOCHS / 200.0
        return self

    def predict(self, cells) -> np.ndarray:
        index = self.table_.indices_of(cells)
        self.query_gpu_hours_ = float(self.seconds_[index].sum() / 3600.0)
        return self.values_[index].astype(np.float32)
