"""The NAS-Bench-201 cell: six edges of a 4-node DAG, each carrying one of five operations.

A cell is a tuple of six op indices in the official edge order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3).
Its *ordinal* is the base-5 number those digits spell (edge 0->1 most significant); the official
benchmark index is a different order that only the table knows (see `bench`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from ..errors import UserError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_OPS = len(OPS)
N_EDGES = len(EDGES)
N_CELLS = N_OPS**N_EDGES  # 15,625
ONE_HOT_DIM = N_OPS * N_EDGES  # 30

Cell = tuple[int, ...]

_OP_INDEX = {name: i for i, name in enumerate(OPS)}
_PLACES = N_OPS ** np.arange(N_EDGES - 1, -1, -1)


def parse(arch: str) -> Cell:
    """Parse an official string such as ``|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...|``.

    Raises ValueError naming the first thing that is wrong, so a user can fix a typed string.
    """
    if not isinstance(arch, str):
        raise ValueError(f"architecture must be a string, got {type(arch).__name__}")
    nodes = arch.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"malformed architecture {arch!r}: expected 3 node groups separated by '+', got {len(nodes)}")
    ops: list[int] = []
    for node, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ValueError(f"malformed architecture {arch!r}: node group {group!r} must start and end with '|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise ValueError(
                f"malformed architecture {arch!r}: node {node} needs {node} incoming edges, got {len(tokens)}"
            )
        for source, token in enumerate(tokens):
            op, sep, src = token.partition("~")
            if not sep:
                raise ValueError(f"malformed architecture {arch!r}: edge {token!r} must look like 'op~source'")
            if op not in _OP_INDEX:
                raise ValueError(f"unknown operation {op!r} in {arch!r}; known: {', '.join(OPS)}")
            if src != str(source):
                raise ValueError(
                    f"malformed architecture {arch!r}: edge {token!r} into node {node} must come from node {source}"
                )
            ops.append(_OP_INDEX[op])
    return tuple(ops)


def format_cell(cell: Sequence[int]) -> str:
    """The official string of a cell (inverse of `parse`)."""
    cell = validate(cell)
    groups, k = [], 0
    for node in (1, 2, 3):
        groups.append("|" + "|".join(f"{OPS[cell[k + s]]}~{s}" for s in range(node)) + "|")
        k += node
    return "+".join(groups)


def validate(cell: Sequence[int]) -> Cell:
    """Return the cell as a tuple of ints, or raise ValueError if it is not a cell of this space."""
    try:
        out = tuple(int(op) for op in cell)
    except (TypeError, ValueError):
        raise ValueError(f"a cell is a sequence of {N_EDGES} op indices, got {cell!r}") from None
    if len(out) != N_EDGES or any(op < 0 or op >= N_OPS for op in out):
        raise ValueError(f"a cell is {N_EDGES} op indices in 0..{N_OPS - 1}, got {cell!r}")
    return out


def to_ordinal(cell: Sequence[int]) -> int:
    return int(np.dot(validate(cell), _PLACES))


def ordinals(cells: Iterable[Sequence[int]]) -> np.ndarray:
    """The ordinal of each cell (vectorised `to_ordinal`), as an int64 array."""
    return as_array(cells) @ _PLACES


def from_ordinal(ordinal: int) -> Cell:
    if not 0 <= int(ordinal) < N_CELLS:
        raise ValueError(f"ordinal {ordinal} outside 0..{N_CELLS - 1}")
    return tuple(int(d) for d in (int(ordinal) // _PLACES) % N_OPS)


def all_cells() -> np.ndarray:
    """Every cell, as an (n_cells, 6) int array in ordinal order."""
    return (np.arange(N_CELLS)[:, None] // _PLACES[None, :]) % N_OPS


def as_array(cells: Iterable[Sequence[int]]) -> np.ndarray:
    """Cells as an (n, 6) int array; accepts tuples, lists or an existing array."""
    arr = np.asarray(list(cells) if not isinstance(cells, np.ndarray) else cells, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != N_EDGES or arr.min(initial=0) < 0 or arr.max(initial=0) >= N_OPS:
        raise ValueError(f"cells must be an (n, {N_EDGES}) array of op indices in 0..{N_OPS - 1}")
    return arr


def mutations(cell: Sequence[int]) -> list[Cell]:
    """The 24 cells that differ from `cell` on exactly one edge."""
    cell = validate(cell)
    return [cell[:e] + (op,) + cell[e + 1 :] for e in range(N_EDGES) for op in range(N_OPS) if op != cell[e]]


def one_hot(cells: Iterable[Sequence[int]]) -> np.ndarray:
    """(n, 30) float32: edge-major one-hot of the op on each edge."""
    arr = as_array(cells)
    out = np.zeros((len(arr), N_EDGES, N_OPS), dtype=np.float32)
    np.put_along_axis(out, arr[:, :, None], 1.0, axis=2)
    return out.reshape(len(arr), ONE_HOT_DIM)


def tokens(cells: Iterable[Sequence[int]]) -> np.ndarray:
    """(n, 6) int64 op tokens, one per edge, for sequence models."""
    return as_array(cells).copy()


def sample(rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
    """`n` cells drawn uniformly with a seeded generator, as an (n, 6) array."""
    if not replace and n > N_CELLS:
        raise ValueError(f"cannot sample {n} distinct cells from {N_CELLS}")
    ordinals = rng.choice(N_CELLS, size=n, replace=replace)
    return all_cells()[ordinals]


def functional_key(cell: Sequence[int]) -> str:
    """A canonical expression of what the cell computes: 'none' is zero, skip is identity, an op on a
    zero node is zero, sums are commutative. Cells with the same key compute the same function.

    This is coarser than the benchmark's own `unique_id` (it merges some cells the benchmark keeps
    apart); the table's `unique_id` is preferred wherever the table is at hand.
    """
    cell = validate(cell)
    terms: dict[int, tuple[str, ...]] = {0: ("x",)}
    for node in (1, 2, 3):
        node_terms: list[str] = []
        for e, (src, dst) in enumerate(EDGES):
            if dst != node or cell[e] == 0 or not terms[src]:
                continue
            if cell[e] == 1:
                node_terms.extend(terms[src])
            else:
                node_terms.append(f"{OPS[cell[e]]}({'+'.join(terms[src])})")
        terms[node] = tuple(sorted(node_terms))
    return "+".join(terms[3])


def effective_ops(cells: Iterable[Sequence[int]]) -> np.ndarray:
    """Cells with every dead edge set to `none` (op 0), as an (n, 6) array.

    An edge is live when its source is reachable from the input and its target reaches the output
    through edges that are not `none`; a dead edge cannot change what the cell computes.
    """
    arr = as_array(cells)
    on = arr != 0
    n = len(arr)
    from_input = [np.ones(n, dtype=bool)] + [np.zeros(n, dtype=bool) for _ in range(3)]
    for e, (s, d) in enumerate(EDGES):  # EDGES is in topological order of the source node
        from_input[d] |= from_input[s] & on[:, e]
    to_output = [np.zeros(n, dtype=bool) for _ in range(3)] + [np.ones(n, dtype=bool)]
    for e, (s, d) in reversed(list(enumerate(EDGES))):
        to_output[s] |= to_output[d] & on[:, e]
    live = np.stack([on[:, e] & from_input[s] & to_output[d] for e, (s, d) in enumerate(EDGES)], axis=1)
    return np.where(live, arr, 0)


@lru_cache(maxsize=1)
def functional_classes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over the whole space: (class of each ordinal, start offset of each class in the next array,
    ordinals sorted by class). Classes are the distinct `functional_key`s."""
    keys = np.array([functional_key(c) for c in all_cells()], dtype=object).astype(str)
    _, cls = np.unique(keys, return_inverse=True)
    order = np.argsort(cls, kind="stable")
    starts = np.searchsorted(cls[order], np.arange(cls.max() + 2))
    return cls, starts, order


def functional_copies(cells: Iterable[Sequence[int]]) -> list[np.ndarray]:
    """For each cell, the ordinals of every cell of the space that computes the same function
    (the cell itself included), in ordinal order."""
    cls, starts, order = functional_classes()
    return [order[starts[c]:starts[c + 1]] for c in cls[ordinals(cells)]]


#: Relation of edge i to edge j in the cell's DAG, as `edge_relations` numbers them.
REL_SELF, REL_FEEDS, REL_FED_BY, REL_SAME_SRC, REL_SAME_DST, REL_NONE = range(6)
N_EDGE_RELATIONS = 6


def edge_relations() -> np.ndarray:
    """(6, 6) int64: the relation of edge i to edge j (itself, feeds it, is fed by it, same source,
    same target, none of these), for attention biases over edge tokens."""
    rel = np.full((N_EDGES, N_EDGES), REL_NONE, dtype=np.int64)
    for i, (si, di) in enumerate(EDGES):
        for j, (sj, dj) in enumerate(EDGES):
            if i == j:
                rel[i, j] = REL_SELF
            elif di == sj:
                rel[i, j] = REL_FEEDS
            elif dj == si:
                rel[i, j] = REL_FED_BY
            elif si == sj:
                rel[i, j] = REL_SAME_SRC
            elif di == dj:
                rel[i, j] = REL_SAME_DST
    return rel


#: The datasets of NAS-Bench-201 (our short names) and the spellings accepted for each.
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
_DATASET_ALIASES = {
    "cifar10": "cifar10",
    "cifar10-valid": "cifar10",
    "cifar-10": "cifar10",
    "cifar100": "cifar100",
    "cifar-100": "cifar100",
    "imagenet16": "imagenet16",
    "imagenet16-120": "imagenet16",
    "imagenet16_120": "imagenet16",
}


def canonical_dataset(name: str) -> str:
    """Our short dataset name for any accepted spelling (`ImageNet16-120` -> `imagenet16`)."""
    key = str(name).strip().lower()
    if key not in _DATASET_ALIASES:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} (official names accepted too)")
    return _DATASET_ALIASES[key]
