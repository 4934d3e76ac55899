"""NAS-Bench-Graph: graph neural architectures of 4 computing nodes (`pip install 'nasbench-rank[graph]'`).

An element is ``(link, op1, op2, op3, op4)``: `link` indexes one of the 9 input patterns of the
package (`LINKS`: for each computing node, the node it reads from, 0 the raw input), the ops index
`OPS` (9 GNN layers). Leaves feed the output. Canonical string: ``"0,1,2,3:gcn,gin,fc,cheb"``.
Four `skip` ops would be no model at all and are not elements: 9 x (9^4 - 1) = 59,040 elements in
26,206 equivalence classes (the package's `Arch(link, ops).valid_hash()`, which its README uses to
merge isomorphic architectures and redundant skips). The `proteins` dataset covers 5 of the ops
only: `NBGraphBenchmark.space_of("proteins")` is that subspace (5,616 elements, 2,021 classes), with
the same element tuples and encodings, so a predictor moves between datasets unchanged.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Iterable, Sequence

import numpy as np

from .base import Benchmark, DataChecksum, Element, Fidelity, Metric, ParseError, Space, as_int_array, from_mixed_radix, mixed_radix

LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
N_NODES = 4
SKIP = OPS.index("skip")
_LINK_INDEX = {link: i for i, link in enumerate(LINKS)}
_OP_INDEX = {op: i for i, op in enumerate(OPS)}

#: Relation of computing node i to node j (for attention biases).
REL_SELF, REL_FEEDS, REL_FED_BY, REL_SAME_INPUT, REL_NONE = range(5)


class NBGraphSpace(Space):
    """The product of the 9 link patterns and 4 ops from `ops`, without the all-skip elements."""

    width = 1 + N_NODES
    n_tokens = N_NODES
    vocab_size = len(OPS) * N_NODES  # a token is (op, input node)
    n_relations = 5

    def __init__(self, ops: Sequence[str] = OPS, name: str = "nbgraph"):
        unknown = [op for op in ops if op not in _OP_INDEX]
        if unknown or "skip" not in ops or len(set(ops)) != len(ops):
            raise ValueError(f"ops must be distinct names from {OPS} including 'skip', got {ops!r}")
        self.name = name
        self.ops = tuple(sorted(ops, key=_OP_INDEX.__getitem__))  # 'skip' is last
        self._global = np.asarray([_OP_INDEX[o] for o in self.ops], dtype=np.int64)
        self._local = np.full(len(OPS), -1, dtype=np.int64)
        self._local[self._global] = np.arange(len(self.ops))
        k = len(self.ops)
        self._block = k**N_NODES - 1  # op combinations per link, all-skip (the last) left out
        self.size = len(LINKS) * self._block

    # -- elements ----------------------------------------------------------------------------
    def parse(self, text: str) -> Element:
        if not isinstance(text, str):
            raise ParseError(f"a NAS-Bench-Graph architecture is a string, got {type(text).__name__}")
        link_part, sep, ops_part = text.strip().partition(":")
        if not sep:
            raise ParseError(f"malformed architecture {text!r}: expected 'LINKS:OPS', e.g. '0,1,2,3:gcn,gin,fc,cheb'")
        try:
            link = tuple(int(v) for v in link_part.split(","))
        except ValueError:
            raise ParseError(f"malformed architecture {text!r}: links must be 4 comma-separated node numbers") from None
        if link not in _LINK_INDEX:
            raise ParseError(f"links {link_part!r} in {text!r} are not one of the 9 patterns: "
                             + " ".join(",".join(map(str, lk)) for lk in LINKS))
        ops = [o.strip() for o in ops_part.split(",")]
        if len(ops) != N_NODES:
            raise ParseError(f"malformed architecture {text!r}: needs {N_NODES} ops, got {len(ops)}")
        for op in ops:
            if op not in self.ops:
                raise ParseError(f"unknown operation {op!r} in {text!r}; known: {', '.join(self.ops)}")
        element = (_LINK_INDEX[link],) + tuple(_OP_INDEX[o] for o in ops)
        return self.validate(element)

    def format(self, element: Sequence[int]) -> str:
        e = self.validate(element)
        return ",".join(map(str, LINKS[e[0]])) + ":" + ",".join(OPS[o] for o in e[1:])

    def ordinals(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        arr = as_int_array(elements, self.width, "NAS-Bench-Graph elements")
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        links, ops = arr[:, 0], arr[:, 1:]
        if links.min() < 0 or links.max() >= len(LINKS) or ops.min() < 0 or ops.max() >= len(OPS):
            raise ParseError(f"{self.name}: an element is (link 0..{len(LINKS) - 1}, 4 op indices 0..{len(OPS) - 1})")
        local = self._local[ops]
        if local.min() < 0:
            raise ParseError(f"{self.name}: ops must be among {', '.join(self.ops)}")
        value = mixed_radix(local, (len(self.ops),) * N_NODES)
        if np.any(value == self._block):
            raise ParseError(f"{self.name}: four 'skip' ops are not an architecture")
        return links * self._block + value

    def elements(self, ordinals: Iterable[int] | None = None) -> np.ndarray:
        ords = np.arange(self.size) if ordinals is None else self.check_ordinals(ordinals)
        links, value = ords // self._block, ords % self._block
        local = from_mixed_radix(value, (len(self.ops),) * N_NODES)
        return np.column_stack([links, self._global[local]]).astype(np.int64)

    def neighbours(self, element: Sequence[int]) -> list[Element]:
        """Every element with one op changed or the link pattern changed."""
        e = self.validate(element)
        out: list[Element] = [(link,) + e[1:] for link in range(len(LINKS)) if link != e[0]]
        for node in range(N_NODES):
            for op in self._global.tolist():
                if op == e[1 + node]:
                    continue
                ops = e[1:1 + node] + (op,) + e[2 + node:]
                if all(o == SKIP for o in ops):
                    continue
                out.append((e[0],) + ops)
        return out

    # -- encodings ---------------------------------------------------------------------------
    def one_hot(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 45) float32: the link pattern (9), then each node's op (4 x 9)."""
        arr = self.as_array(elements)
        out = np.zeros((len(arr), len(LINKS) + N_NODES * len(OPS)), dtype=np.float32)
        rows = np.arange(len(arr))
        out[rows, arr[:, 0]] = 1.0
        for node in range(N_NODES):
            out[rows, len(LINKS) + node * len(OPS) + arr[:, 1 + node]] = 1.0
        return out

    def _inputs(self, arr: np.ndarray) -> np.ndarray:
        """(n, 4) input node of each computing node."""
        return np.asarray(LINKS, dtype=np.int64)[arr[:, 0]]

    def tokens(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 4) one token per computing node: op * 4 + the node it reads from."""
        arr = self.as_array(elements)
        return arr[:, 1:] * N_NODES + self._inputs(arr)

    def relations(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 4, 4): node i feeds j, is fed by j, reads the same input as j, itself, or none."""
        inputs = self._inputs(self.as_array(elements))  # node k (1-based) reads inputs[:, k-1]
        node = np.arange(1, N_NODES + 1)
        rel = np.full((len(inputs), N_NODES, N_NODES), REL_NONE, dtype=np.int64)
        same = inputs[:, :, None] == inputs[:, None, :]
        rel[same] = REL_SAME_INPUT
        rel[inputs[:, None, :] == node[None, :, None]] = REL_FEEDS  # j reads i
        rel[inputs[:, :, None] == node[None, None, :]] = REL_FED_BY  # i reads j
        rel[:, np.arange(N_NODES), np.arange(N_NODES)] = REL_SELF
        return rel

    def dag(self, element: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """Nodes: input, the 4 computing nodes (labelled with their op), output; leaves feed the output."""
        e = self.validate(element)
        link = LINKS[e[0]]
        n = N_NODES + 2
        adj = np.zeros((n, n), dtype=np.int8)
        for k, src in enumerate(link, start=1):
            adj[src, k] = 1
        for k in range(1, N_NODES + 1):
            if k not in link:
                adj[k, n - 1] = 1
        return adj, ["input"] + [OPS[o] for o in e[1:]] + ["output"]

    def dag_labels(self) -> tuple[str, ...]:
        """All 9 op names, in `OPS` order, also on a subspace: its DAG encodings match the whole space's."""
        return OPS

    def equivalence_key(self, element: Sequence[int]) -> int:
        from ..tables.nbgraph import valid_hash

        e = self.validate(element)
        return valid_hash(list(LINKS[e[0]]), [OPS[o] for o in e[1:]])

    def equivalence_keys(self, elements: Iterable[Sequence[int]] | None = None) -> np.ndarray:
        if elements is None:
            return _all_hashes(self.ops)
        return _all_hashes(self.ops)[self.ordinals(elements)]


@lru_cache(maxsize=2)
def _all_hashes(ops: tuple[str, ...]) -> np.ndarray:
    """The package's hash of every element of the space over `ops`, in ordinal order (~1 s)."""
    from ..tables.nbgraph import require

    arch = require().Arch
    space = NBGraphSpace(ops)
    arr = space.elements()
    hashes = np.empty(len(arr), dtype=np.int64)
    for i, e in enumerate(arr.tolist()):
        hashes[i] = arch(list(LINKS[e[0]]), [OPS[o] for o in e[1:]]).valid_hash()
    hashes.setflags(write=False)
    return hashes


class NBGraphBenchmark(Benchmark):
    """The light tables shipped in `nas-bench-graph`: validation and test performance (the
    package's `valid_perf` and `perf`, fractions), inference latency and parameters. They hold the
    mean over the package's three training seeds, final epoch only, and no training time: an
    evaluation costs one unit (`cost_unit = "evaluations"`)."""

    name = "nbgraph"
    datasets = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
    metrics = {
        "valid": Metric("valid", "max", "validation performance (fraction)"),
        "test": Metric("test", "max", "test performance (fraction)"),
        "latency": Metric("latency", "min", "inference latency", "s"),
        "params": Metric("params", "min", "parameters", "M"),
    }
    cost_unit = "evaluations"
    _FIDELITIES = (Fidelity("final", None, "the end of training (the light tables hold no per-epoch results)"),)

    def __init__(self) -> None:
        from ..tables.nbgraph import package_version, require

        require()
        self.space = NBGraphSpace()
        self.source = f"nas-bench-graph {package_version()} (light_read)"

    def aliases(self) -> dict[str, str]:
        return {"ogbn-arxiv": "arxiv", "ogbn-proteins": "proteins", "coauthor-cs": "cs", "coauthor-physics": "physics",
                "amazon-photo": "photo", "amazon-computers": "computers"}

    @cached_property
    def _proteins_space(self) -> NBGraphSpace:
        return NBGraphSpace(PROTEINS_OPS, name="nbgraph-proteins")

    def space_of(self, dataset: str) -> NBGraphSpace:
        return self._proteins_space if self.canonical_dataset(dataset) == "proteins" else self.space

    def checksum(self, dataset: str) -> DataChecksum:
        from ..tables.nbgraph import checksum

        return checksum(self.canonical_dataset(dataset))

    def fidelities(self, dataset: str) -> tuple[Fidelity, ...]:
        self.canonical_dataset(dataset)
        return self._FIDELITIES

    def _rows(self, dataset: str) -> np.ndarray:
        from ..tables.nbgraph import graph_table

        return graph_table(dataset).rows(self.space_of(dataset).equivalence_keys())

    def values(self, dataset: str, metric: str | None = None, fidelity: str | None = None) -> np.ndarray:
        from ..tables.nbgraph import graph_table

        dataset = self.canonical_dataset(dataset)
        m = self.metric(metric)
        self.fidelity(dataset, fidelity)
        table = graph_table(dataset)
        return getattr(table, m.name)[self._rows(dataset)]

    def cost(self, dataset: str, fidelity: str | None = None) -> np.ndarray:
        dataset = self.canonical_dataset(dataset)
        self.fidelity(dataset, fidelity)
        return np.ones(self.space_of(dataset).size)
