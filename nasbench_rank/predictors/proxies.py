"""Proxies: scores that need no training labels. `fit` ignores its labels (``needs_labels`` is
False, so an evaluation charges nothing for them); a proxy that reads benchmark results pays for
them, and reports what it paid in ``query_gpu_hours_`` after each `predict`.

Both take a ``space`` (None: NAS-Bench-201) and a ``benchmark``: the results they read are handed to
them by the framework (`spaces.give_benchmark`, with ``dataset`` and, on NAS-Bench-201, ``table``);
a proxy never loads a benchmark itself, so what it reads is exactly what it is given and charged for.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ..spaces import nb201_cell as space
from ..errors import UserError
from ..spaces import Space, resolve_space
from ..spaces.nb201 import NB201Space

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
    arr = space.as_array(cells)
    classes = _CLASSES[space.canonical_dataset(dataset)]
    per_cell = sum(n * (arr == op).sum(axis=1) for op, n in _EDGE_PARAMS.items())
    return (_BODY + 65 * classes + per_cell).astype(np.float64)


def _benchmark(proxy, sp: Space, name: str):
    if proxy.benchmark is not None:
        return proxy.benchmark
    raise UserError(f"predictor {name!r} reads the {sp.name} benchmark's results, which are handed to it when "
                    f"eval, run or bench builds it; built by hand, pass benchmark=spaces.load({sp.name!r})")


class ParamsProxy(BaseEstimator):
    """Predicts the parameter count: on NAS-Bench-201 computed from the cell's structure (millions),
    elsewhere the benchmark's ``params`` metric on `dataset` (in its unit), a space whose benchmark
    has none is refused. Free to query either way (a parameter count needs no training)."""

    needs_labels = False

    def __init__(self, dataset: str = "cifar10", space=None, benchmark=None):
        self.dataset = dataset
        self.space = space
        self.benchmark = benchmark

    def fit(self, cells, y=None) -> "ParamsProxy":
        sp = resolve_space(self.space)
        if not isinstance(sp, NB201Space):
            bm = _benchmark(self, sp, "params")
            if "params" not in bm.metrics:
                raise UserError(f"predictor 'params' needs a 'params' metric; space {sp.name!r} has none")
            self.space_ = bm.space_of(self.dataset)
            self.values_ = np.asarray(bm.values(self.dataset, "params"), dtype=np.float64)
        self.fitted_ = True
        return self

    def predict(self, cells) -> np.ndarray:
        self.query_gpu_hours_ = 0.0
        if getattr(self, "values_", None) is None:
            return (parameter_count(cells, self.dataset) / 1e6).astype(np.float32)
        return self.values_[self.space_.ordinals(cells)].astype(np.float32)


class Acc12Proxy(BaseEstimator):
    """Predicts the 12-epoch validation accuracy (fraction) read from the table. Each cell scored
    costs what training it for 12 epochs costs, taken as 12/200 of the table's 200-epoch training
    seconds on `dataset`; the sum over the cells of the last `predict` is ``query_gpu_hours_``.

    Another space needs a 12-epoch fidelity in its benchmark (then: the metric's utility at that
    fidelity, charged the benchmark's cost when it counts seconds); a space without one (nbgraph,
    fcnet) is refused in one line on `fit`."""

    needs_labels = False
    EPOCHS = 12

    def __init__(self, dataset: str = "cifar10", metric: str = "valid", table=None, space=None, benchmark=None):
        self.dataset = dataset
        self.metric = metric
        self.table = table
        self.space = space
        self.benchmark = benchmark

    def fit(self, cells, y=None) -> "Acc12Proxy":
        sp = resolve_space(self.space)
        if isinstance(sp, NB201Space):
            table = self.table if self.table is not None else getattr(self.benchmark, "table", None)
            if table is None:
                raise UserError("predictor 'acc12' reads the NAS-Bench-201 table's 12-epoch results, which are "
                                "handed to it when eval, run or bench builds it; built by hand, pass table=...")
            self.table_ = table
            self.values_ = self.table_.accuracy(self.dataset, self.metric, epochs=self.EPOCHS, fraction=True)
            self.seconds_ = self.table_.train_seconds(self.dataset) * self.EPOCHS / 200.0
            return self
        bm = _benchmark(self, sp, "acc12")
        if not any(f.epochs == self.EPOCHS for d in bm.datasets for f in bm.fidelities(d)):
            raise UserError(f"predictor 'acc12' needs a {self.EPOCHS}-epoch fidelity; space {sp.name!r} has none")
        short = [f for f in bm.fidelities(self.dataset) if f.epochs == self.EPOCHS]
        if not short:
            raise UserError(f"predictor 'acc12' needs a {self.EPOCHS}-epoch fidelity; dataset {self.dataset!r} "
                            f"of space {sp.name!r} has none")
        self.space_ = bm.space_of(self.dataset)
        self.values_ = bm.metric(self.metric).utility(bm.values(self.dataset, self.metric, short[0].name))
        cost = bm.cost(self.dataset, short[0].name)
        self.seconds_ = cost if bm.cost_unit == "seconds" else np.zeros_like(cost)
        return self

    def predict(self, cells) -> np.ndarray:
        table = getattr(self, "table_", None)
        index = table.indices_of(cells) if table is not None else self.space_.ordinals(cells)
        self.query_gpu_hours_ = float(self.seconds_[index].sum() / 3600.0)
        return self.values_[index].astype(np.float32)
