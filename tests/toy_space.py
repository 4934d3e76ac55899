"""A tiny third-party space (bit strings of length 3) for tests: what a plugin author writes."""

import numpy as np

from nasbench_rank.spaces.base import Benchmark, Fidelity, Metric, ParseError, Space, as_int_array


class BitSpace(Space):
    name, size, width, n_tokens, vocab_size, n_relations = "bits", 8, 3, 3, 2, 2

    def parse(self, text):
        if not isinstance(text, str) or len(text) != 3 or set(text) - {"0", "1"}:
            raise ParseError(f"a bit string is 3 characters of 0/1, got {text!r}")
        return tuple(int(c) for c in text)

    def format(self, element):
        return "".join(map(str, self.validate(element)))

    def ordinals(self, elements):
        arr = as_int_array(elements, 3, "bit strings")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ParseError("bits are 0 or 1")
        return arr @ np.array([4, 2, 1])

    def elements(self, ordinals=None):
        ords = np.arange(8) if ordinals is None else self.check_ordinals(ordinals)
        return (ords[:, None] >> np.array([2, 1, 0])) & 1

    def neighbours(self, element):
        e = self.validate(element)
        return [e[:k] + (1 - e[k],) + e[k + 1:] for k in range(3)]

    def one_hot(self, elements):
        return np.eye(2, dtype=np.float32)[self.as_array(elements)].reshape(-1, 6)

    def tokens(self, elements):
        return self.as_array(elements)

    def relations(self, elements):
        return np.broadcast_to(1 - np.eye(3, dtype=np.int64), (len(self.as_array(elements)), 3, 3)).copy()


class BitBenchmark(Benchmark):
    """Loss = number of ones (lower is better): the optimum is 000."""

    name, datasets = "bits", ("ones",)
    metrics = {"valid": Metric("valid", "min", "number of ones")}

    def __init__(self):
        self.space = BitSpace()

    def fidelities(self, dataset):
        return (Fidelity("final"),)

    def values(self, dataset, metric=None, fidelity=None):
        self.canonical_dataset(dataset), self.metric(metric), self.fidelity(dataset, fidelity)
        return self.space.elements().sum(axis=1).astype(float)

    def cost(self, dataset, fidelity=None):
        return np.ones(8)
