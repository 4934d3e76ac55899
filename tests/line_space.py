"""A space of `n` elements in a line, (0,) .. (n-1,), and a benchmark over it whose every value the
test gives: small random benchmarks for checking optima, thresholds and the oracle by brute force."""

import numpy as np

from nasbench_rank.spaces.base import Benchmark, Fidelity, Metric, ParseError, Space, as_int_array


class LineSpace(Space):
    width, n_tokens, vocab_size, n_relations = 1, 1, 1, 1

    def __init__(self, n: int):
        self.name, self.size = "line", int(n)

    def parse(self, text):
        return (int(text),)

    def format(self, element):
        return str(self.validate(element)[0])

    def ordinals(self, elements):
        arr = as_int_array(elements, 1, "line elements")
        if arr.size and (arr.min() < 0 or arr.max() >= self.size):
            raise ParseError(f"line elements lie in 0..{self.size - 1}")
        return arr[:, 0].astype(np.int64)

    def elements(self, ordinals=None):
        ords = np.arange(self.size) if ordinals is None else self.check_ordinals(ordinals)
        return ords.reshape(-1, 1).astype(np.int64)

    def neighbours(self, element):
        i = self.validate(element)[0]
        return [(j,) for j in (i - 1, i + 1) if 0 <= j < self.size]

    def one_hot(self, elements):
        return np.ones((len(self.as_array(elements)), 1), dtype=np.float32)

    def tokens(self, elements):
        return np.zeros((len(self.as_array(elements)), 1), dtype=np.int64)

    def relations(self, elements):
        return np.zeros((len(self.as_array(elements)), 1, 1), dtype=np.int64)


class LineBenchmark(Benchmark):
    """`values[metric]`: full-fidelity values (ordinal order); `low[metric]`: 12-epoch values;
    `seeds`: (n, k) per-seed values of `valid` (NaN where a seed was not run); `seconds`: cost."""

    name, datasets = "line", ("data",)

    def __init__(self, values, metrics=None, low=None, seeds=None, seconds=None):
        self.values_ = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        n = len(next(iter(self.values_.values())))
        self.space = LineSpace(n)
        self.metrics = metrics or {"valid": Metric("valid", "max", "", "%"), "test": Metric("test", "max", "", "%")}
        self.low = {k: np.asarray(v, dtype=float) for k, v in (low or {}).items()}
        self.seeds = None if seeds is None else np.asarray(seeds, dtype=float)
        self.seconds = np.full(n, 10.0) if seconds is None else np.asarray(seconds, dtype=float)

    def fidelities(self, dataset):
        full = Fidelity("200ep", 200)
        return (full, Fidelity("12ep", 12)) if self.low else (full,)

    def values(self, dataset, metric=None, fidelity=None):
        m = self.metric(metric).name
        f = self.fidelity(dataset, fidelity)
        return (self.low if f.epochs == 12 else self.values_)[m].copy()

    def cost(self, dataset, fidelity=None):
        f = self.fidelity(dataset, fidelity)
        return self.seconds * (f.epochs / 200.0)

    def per_seed(self, dataset, metric=None):
        return None if self.seeds is None or self.metric(metric).name != "valid" else self.seeds.copy()
