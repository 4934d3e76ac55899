"""A toy search space for nasbench-rank: chains of four layers, each a conv3, a conv5 or a skip.

The space has 3**4 = 81 elements. Its benchmark tabulates two made-up datasets, "easy" and "hard",
with a validation and a test accuracy (%) per element, a parameter count, and training seconds.
The numbers are synthetic: a formula plus seeded noise, computed on first use.
"""

from functools import lru_cache

import numpy as np

from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.spaces import Benchmark, Fidelity, Metric, ParseError, Space
from nasbench_rank.spaces.base import as_int_array

OPS = ("conv3", "conv5", "skip")
LAYERS = 4
PLACES = np.array([27, 9, 3, 1])  # an element's ordinal is the base-3 number its ops spell


class ChainSpace(Space):
    name = "chain"
    size = 3**LAYERS
    width = LAYERS  # an element is a tuple of 4 op indices
    n_tokens = LAYERS  # one token per layer for sequence models
    vocab_size = LAYERS * len(OPS)  # a token is one (layer, op) pair
    n_relations = 2  # token i to token j: adjacent layers, or not

    def parse(self, text):
        parts = text.split("-") if isinstance(text, str) else []
        if len(parts) != LAYERS or any(p not in OPS for p in parts):
            raise ParseError(f"a chain is {LAYERS} of {', '.join(OPS)} joined by '-', got {text!r}")
        return tuple(OPS.index(p) for p in parts)

    def format(self, element):
        return "-".join(OPS[i] for i in self.validate(element))

    def ordinals(self, elements):
        arr = as_int_array(elements, LAYERS, "chains")  # (n, 4) int64, or a ParseError
        if arr.size and (arr.min() < 0 or arr.max() >= len(OPS)):
            raise ParseError(f"op indices must lie in 0..{len(OPS) - 1}")
        return arr @ PLACES

    def elements(self, ordinals=None):
        ords = np.arange(self.size) if ordinals is None else self.check_ordinals(ordinals)
        return (ords[:, None] // PLACES[None, :]) % len(OPS)

    def neighbours(self, element):
        e = self.validate(element)
        return [e[:k] + (op,) + e[k + 1:] for k in range(LAYERS) for op in range(len(OPS)) if op != e[k]]

    def one_hot(self, elements):
        arr = self.as_array(elements)
        return np.eye(len(OPS), dtype=np.float32)[arr].reshape(len(arr), -1)

    def tokens(self, elements):
        return self.as_array(elements) + len(OPS) * np.arange(LAYERS)[None, :]

    def relations(self, elements):
        n = len(self.as_array(elements))
        adjacent = (np.abs(np.subtract.outer(np.arange(LAYERS), np.arange(LAYERS))) == 1).astype(np.int64)
        return np.broadcast_to(adjacent, (n, LAYERS, LAYERS)).copy()


class ChainBenchmark(Benchmark):
    name = "chain"
    datasets = ("easy", "hard")
    metrics = {
        "valid": Metric("valid", "max", "validation accuracy (%)"),
        "test": Metric("test", "max", "test accuracy (%)"),
        "params": Metric("params", "min", "parameters"),
    }
    default_metric = "valid"
    source = "synthetic (tutorial)"

    def __init__(self):
        self.space = ChainSpace()  # cheap: the data is made on first use

    def fidelities(self, dataset):
        self.canonical_dataset(dataset)
        return (Fidelity("final", None, "the end of training"),)

    def values(self, dataset, metric=None, fidelity=None):
        dataset = self.canonical_dataset(dataset)
        name = self.metric(metric).name
        self.fidelity(dataset, fidelity)
        return _table(dataset)[name].copy()

    def cost(self, dataset, fidelity=None):
        self.fidelity(self.canonical_dataset(dataset), fidelity)
        return _table(self.canonical_dataset(dataset))["seconds"].copy()


@lru_cache(maxsize=None)
def _table(dataset):
    """Synthetic results: convolutions help, conv5 most, with diminishing returns and noise."""
    ops = ChainSpace().elements()
    conv3, conv5 = (ops == 0).sum(axis=1), (ops == 1).sum(axis=1)
    rng = np.random.default_rng(0 if dataset == "easy" else 1)
    noise = 0.5 if dataset == "easy" else 2.0
    signal = 60 + 6 * conv3 + 8 * conv5 - 1.5 * conv5**2
    return {
        "valid": signal + rng.normal(0, noise, len(ops)),
        "test": signal + rng.normal(0, noise, len(ops)) - 0.5,
        "params": (1000 * conv3 + 2500 * conv5).astype(float),
        "seconds": 60.0 + 30 * conv3 + 70 * conv5,
    }


@hookimpl
def register_spaces(register):
    register("chain", ChainBenchmark, "toy chains of 4 layers (conv3, conv5, skip); synthetic data")
