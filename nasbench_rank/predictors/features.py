"""Fixed-length encodings of a space's elements for tabular predictors (the sequence models use
`Space.tokens`), and functional copies for augmentation and test-time averaging.

Every public function takes the space first and the elements second:

    features.tabular(space, X, paths=False)   # one-hot (+ op counts where the space has a DAG)
    features.path_features(space, X)          # path encoding (space with a DAG)
    features.paths_or_one_hot(space, X)       # path encoding, or the one-hot without a DAG
    features.structural(space, X)             # tabular + paths of the canonical form
    features.functional_augment(space, X, y, max_copies, rng)
    features.functional_expand(space, X, max_copies)

`tabular`, `path_features` and `structural` are `functools.singledispatch` functions on the space's type:
the generic version reads only the `Space` interface (`one_hot`, `dag`, `dag_labels`, `canonical`),
and NAS-Bench-201 registers its own specialisation, which keeps the encodings its results were
produced with (op counts, the four fixed paths, `live_paths`). A third-party space can register
its own the same way (``features.tabular.register(MySpace)(fn)``).

The NAS-Bench-201 helpers `op_counts`, `path_encoding` and `live_paths` take cells only.
"""

from __future__ import annotations

import weakref
from functools import singledispatch

import numpy as np

from ..spaces import nb201_cell as space
from ..errors import UserError
from ..spaces.base import Space
from ..spaces.nb201 import NB201Space

# The input->output paths of the cell: edge sequences whose ops form the path's signature.
PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))  # 0->3, 0->1->3, 0->2->3, 0->1->2->3
#: Longest op sequence the generic path encoding tells apart; a longer path counts as its last
#: `MAX_PATH_LENGTH` ops (those nearest the output), which keeps the width at sum(k^l, l <= 3) for k ops.
MAX_PATH_LENGTH = 3


# ---- NAS-Bench-201 cells -------------------------------------------------------------------------

def op_counts(cells) -> np.ndarray:
    """(n, 5) how many edges carry each op."""
    arr = space.as_array(cells)
    return np.stack([(arr == op).sum(axis=1) for op in range(space.N_OPS)], axis=1).astype(np.float32)


def path_encoding(cells) -> np.ndarray:
    """(n, 5 + 25 + 125 + ...) one-hot of the op sequence on each of the four input->output paths,
    summed over paths of equal length: which op chains connect input to output."""
    arr = space.as_array(cells)
    blocks = []
    for length in (1, 2, 3):
        block = np.zeros((len(arr), space.N_OPS**length), dtype=np.float32)
        for path in (p for p in PATHS if len(p) == length):
            code = np.zeros(len(arr), dtype=np.int64)
            for edge in path:
                code = code * space.N_OPS + arr[:, edge]
            np.add.at(block, (np.arange(len(arr)), code), 1.0)
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def live_paths(cells) -> np.ndarray:
    """(n, 4 + 16 + 64) BANANAS-style path encoding: for each op sequence without `none` of length
    1 to 3, how many input->output paths of the cell carry it. A path through a `none` edge does not
    exist, so dead edges never show here."""
    arr = space.as_array(cells)
    real = space.N_OPS - 1  # ops 1..4
    blocks = []
    for length in (1, 2, 3):
        block = np.zeros((len(arr), real**length), dtype=np.float32)
        for path in (p for p in PATHS if len(p) == length):
            ops = arr[:, list(path)]
            exists = (ops != 0).all(axis=1)
            code = np.zeros(len(arr), dtype=np.int64)
            for k in range(length):
                code = code * real + np.maximum(ops[:, k] - 1, 0)
            np.add.at(block, (np.flatnonzero(exists), code[exists]), 1.0)
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


# ---- DAG features of any space, computed per element on first use and kept per space object ------

class _DagFeatures:
    """Per ordinal: how many inner nodes carry each label, and the column of each source->sink path
    in the path encoding. Filled lazily, for the elements asked about (one `space.dag` call each,
    ~40 us), so a space too large to enumerate costs only what is encoded."""

    def __init__(self, sp: Space):
        self.space_name = sp.name  # no reference to the space: it keys the weak cache of these
        self.labels = tuple(sp.dag_labels())
        self.index = {label: i for i, label in enumerate(self.labels)}
        k = len(self.labels)
        self.offsets = np.concatenate([[0], np.cumsum([k**length for length in range(1, MAX_PATH_LENGTH + 1)])])
        self.width = int(self.offsets[-1])
        self.counts: dict[int, np.ndarray] = {}
        self.codes: dict[int, np.ndarray] = {}

    def _label(self, label: str) -> int:
        try:
            return self.index[label]
        except KeyError:
            raise UserError(f"space {self.space_name!r}: DAG label {label!r} is not among its dag_labels()") from None

    def _compute(self, sp: Space, ordinal: int) -> None:
        adj, labels = sp.dag(sp.element(ordinal))
        adj = np.asarray(adj) != 0
        n = len(labels)
        indeg, outdeg = adj.sum(axis=0), adj.sum(axis=1)
        k = len(self.labels)
        counts = np.zeros(k, dtype=np.float32)
        for i in np.flatnonzero((indeg > 0) & (outdeg > 0)):
            counts[self._label(labels[i])] += 1.0
        codes: list[int] = []
        succ = [np.flatnonzero(adj[i]).tolist() for i in range(n)]
        stack = [(int(s), ()) for s in np.flatnonzero(indeg == 0)]
        while stack:  # depth-first over every source->sink path
            node, inner = stack.pop()
            if not succ[node]:
                if inner:
                    seq = inner[-MAX_PATH_LENGTH:]
                    code = 0
                    for label in seq:
                        code = code * k + label
                    codes.append(int(self.offsets[len(seq) - 1]) + code)
                continue
            for nxt in succ[node]:
                step = inner + (self._label(labels[nxt]),) if succ[nxt] else inner
                stack.append((nxt, step))
        self.counts[ordinal] = counts
        self.codes[ordinal] = np.asarray(codes, dtype=np.int64)

    def ensure(self, sp: Space, ordinals: np.ndarray) -> None:
        for o in np.unique(ordinals).tolist():
            if o not in self.codes:
                self._compute(sp, o)

    def label_counts(self, sp: Space, ordinals: np.ndarray) -> np.ndarray:
        self.ensure(sp, ordinals)
        out = np.zeros((len(ordinals), len(self.labels)), dtype=np.float32)
        for row, o in enumerate(ordinals.tolist()):
            out[row] = self.counts[o]
        return out

    def path_counts(self, sp: Space, ordinals: np.ndarray) -> np.ndarray:
        self.ensure(sp, ordinals)
        out = np.zeros((len(ordinals), self.width), dtype=np.float32)
        for row, o in enumerate(ordinals.tolist()):
            np.add.at(out[row], self.codes[o], 1.0)
        return out


_DAG_FEATURES: "weakref.WeakKeyDictionary[Space, _DagFeatures]" = weakref.WeakKeyDictionary()


def _dag_features(sp: Space) -> _DagFeatures:
    found = _DAG_FEATURES.get(sp)
    if found is None:
        found = _DAG_FEATURES[sp] = _DagFeatures(sp)
    return found


def label_counts(sp: Space, X) -> np.ndarray:
    """(n, len(sp.dag_labels())) how many inner DAG nodes carry each label (a space with a DAG)."""
    if not sp.has_dag:
        raise UserError(f"space {sp.name!r} has no DAG, so no op counts")
    return _dag_features(sp).label_counts(sp, sp.ordinals(X))


# ---- encodings, dispatched on the space's type -----------------------------------------------------

def _need_space(sp, X, what: str) -> None:
    if not isinstance(sp, Space) or X is None:
        raise TypeError(f"features.{what} takes (space, X): the space first, then the elements")


@singledispatch
def tabular(sp: Space, X=None, paths: bool = False) -> np.ndarray:
    """(n, d) float32: the space's one-hot, plus how many DAG nodes carry each op where the space has
    a DAG, plus (`paths=True`) the path encoding; a space without a DAG gets its one-hot alone."""
    _need_space(sp, X, "tabular")
    X = sp.as_array(X)
    parts = [np.asarray(sp.one_hot(X), dtype=np.float32)]
    if sp.has_dag:
        parts.append(label_counts(sp, X))
        if paths:
            parts.append(path_features(sp, X))
    return np.concatenate(parts, axis=1)


@tabular.register
def _tabular_nb201(sp: NB201Space, X, paths: bool = False) -> np.ndarray:
    """NAS-Bench-201: one-hot (30) + op counts (5), optionally + `path_encoding` (155)."""
    parts = [space.one_hot(X), op_counts(X)]
    if paths:
        parts.append(path_encoding(X))
    return np.concatenate(parts, axis=1)


@singledispatch
def path_features(sp: Space, X=None) -> np.ndarray:
    """(n, k + k^2 + k^3) float32 path encoding from `sp.dag`, k = len(sp.dag_labels()): for each op
    sequence of length 1 to `MAX_PATH_LENGTH`, how many source->sink paths of the element's DAG pass
    through nodes carrying it (a longer path counts as its last `MAX_PATH_LENGTH` ops). A one-line
    UserError for a space without a DAG."""
    _need_space(sp, X, "path_features")
    if not sp.has_dag:
        raise UserError(f"space {sp.name!r} has no DAG, so no path encoding")
    return _dag_features(sp).path_counts(sp, sp.ordinals(X))


@path_features.register
def _paths_nb201(sp: NB201Space, X) -> np.ndarray:
    """NAS-Bench-201: `live_paths` (84 columns; paths through `none` do not exist)."""
    return live_paths(X)


def paths_or_one_hot(sp: Space, X) -> np.ndarray:
    """The path encoding where the space has a DAG, else its one-hot (the documented fallback)."""
    return path_features(sp, X) if sp.has_dag else np.asarray(sp.one_hot(X), dtype=np.float32)


@singledispatch
def structural(sp: Space, X=None) -> np.ndarray:
    """What ACT is given, as a table: `tabular` (with paths) of each element's canonical form
    (`sp.canonical`; the element itself in a space without equivalence)."""
    _need_space(sp, X, "structural")
    return tabular(sp, sp.canonical(X), paths=True)


@structural.register
def _structural_nb201(sp: NB201Space, X) -> np.ndarray:
    """NAS-Bench-201: the effective-op view's one-hot, op counts and path encoding, plus `live_paths`."""
    eff = space.effective_ops(X)
    return np.concatenate([tabular(sp, eff, paths=True), live_paths(eff)], axis=1)


# ---- functional copies (members of an element's equivalence class) ---------------------------------

def _class_members(sp: Space, ords: np.ndarray) -> list[np.ndarray]:
    group, starts, members = sp.classes()
    return [members[starts[g]:starts[g + 1]] for g in group[ords]]


def functional_augment(sp: Space, X, y, max_copies: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each training element replaced by up to `max_copies` members of its equivalence class
    (`sp.classes()`; itself first, the rest drawn with `rng`), each carrying its label. Returns
    (elements, labels, weights); the weights of one element's copies sum to 1, so a large class does
    not outweigh a small one. Without an equivalence every class is the element alone: a no-op."""
    own = sp.ordinals(X)
    y = np.asarray(y, dtype=np.float32)
    picked, owners = [], []
    for i, (o, copies) in enumerate(zip(own, _class_members(sp, own))):
        others = copies[copies != o]
        if len(others) > max_copies - 1:
            others = rng.choice(others, size=max_copies - 1, replace=False)
        chosen = np.concatenate([[o], others]).astype(np.int64)
        picked.append(chosen)
        owners.append(np.full(len(chosen), i))
    ords = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    counts = np.bincount(owner, minlength=len(own))
    return sp.elements(ords), y[owner], (1.0 / counts[owner]).astype(np.float32)


def functional_expand(sp: Space, X, max_copies: int) -> tuple[np.ndarray, np.ndarray]:
    """For test-time averaging: up to `max_copies` members of each element's class (itself first,
    the rest in ordinal order, so the result is deterministic). Returns (elements, index of the
    original element). Without an equivalence: the elements themselves."""
    own = sp.ordinals(X)
    picked, owners = [], []
    for i, (o, copies) in enumerate(zip(own, _class_members(sp, own))):
        chosen = np.concatenate([[o], copies[copies != o][: max_copies - 1]]).astype(np.int64)
        picked.append(chosen)
        owners.append(np.full(len(chosen), i))
    if not picked:
        return sp.elements([]), np.zeros(0, dtype=np.int64)
    return sp.elements(np.concatenate(picked)), np.concatenate(owners)


def mean_by_owner(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of `values` per original element (the inverse of `functional_expand`)."""
    return (np.bincount(owner, weights=values, minlength=n) / np.bincount(owner, minlength=n)).astype(np.float32)
