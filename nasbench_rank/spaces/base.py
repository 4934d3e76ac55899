"""The interfaces every search space and its benchmark implement.

A `Space` is pure combinatorics, with no data: its elements are tuples of small ints (an
``(n, width)`` int64 array for many), each with a canonical string and an ordinal ``0..size-1``.
A `Benchmark` holds the tabulated results over a space: per dataset, one value per ordinal for each
metric, with the metric's direction, the fidelities, the cost of an evaluation, per-seed results
where the data has them, and the optima.

Spaces are plugins (hook ``register_spaces``); their data loads lazily, per dataset, on first use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np

from ..errors import UserError

Element = tuple[int, ...]
#: Relative difference under which two tabulated values are the same value (float rounding of means).
TIE_TOLERANCE = 1e-9
DIRECTIONS = ("max", "min")


class ParseError(UserError, ValueError):
    """A malformed element string or tuple: a user error (exit 2) that is also a ValueError."""


class ExtraMissing(UserError):
    """A space needs an optional dependency that is not installed."""

    def __init__(self, space: str, extra: str, module: str):
        super().__init__(f"space {space!r} needs the optional package {module!r}: pip install 'nasbench-rank[{extra}]'")


@dataclass(frozen=True)
class Metric:
    """One tabulated quantity. `direction` is ``"max"`` when higher is better, ``"min"`` when lower is.
    `log`: a positive quantity spanning orders of magnitude (a loss), whose utilities are taken on
    its logarithm, so that a few diverged runs do not swamp what a predictor regresses. `short`: its
    name in table headers and axis labels ("validation MSE"); by default the description up to its
    first comma or parenthesis (see `label`)."""

    name: str
    direction: str
    description: str = ""
    unit: str = ""
    log: bool = False
    short: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric direction must be one of {DIRECTIONS}, got {self.direction!r}")

    @property
    def label(self) -> str:
        """What tables and plots call the metric: `short`, else the description's first clause, else its name."""
        if self.short:
            return self.short
        first = self.description.split(",")[0].split(" (")[0].strip()
        return first or self.name

    def utility(self, values: np.ndarray) -> np.ndarray:
        """Values turned into "higher is better": negated for a ``min`` metric, after the logarithm for
        a ``log`` one. Order-preserving, so optima and rank correlations do not change."""
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.log(values)
        return values if self.direction == "max" else -values

    def best_index(self, values: np.ndarray) -> int:
        """Position of the best value (the first one on ties), ignoring NaN."""
        return int(np.nanargmax(self.utility(values)))


@dataclass(frozen=True)
class Fidelity:
    """A level of training effort the table reports; the first fidelity of a dataset is the full one."""

    name: str
    epochs: int | None = None
    description: str = ""


@dataclass(frozen=True)
class DataChecksum:
    """sha256 of the data a dataset's results were read from, and whether it is the published file
    (what `nasbench_rank.provenance.provenance` records: it reads `sha256` and `verified`)."""

    sha256: str
    verified: bool


@dataclass(frozen=True)
class Optimum:
    """The best value of a metric on a dataset, the first ordinal reaching it (within the tie
    tolerance), and every tie."""

    ordinal: int
    value: float
    ties: tuple[int, ...]


class Space(ABC):
    """A finite search space. Subclasses set `name`, `size`, `width`, `vocab_size`, `n_tokens`,
    `n_relations` and implement the abstract methods; the rest follows."""

    name: str
    size: int
    width: int  # length of an element tuple
    n_tokens: int  # tokens per element for sequence models
    vocab_size: int  # token values are 0..vocab_size-1
    n_relations: int  # relation values are 0..n_relations-1

    # -- elements ----------------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> Element:
        """The element a canonical string names; ParseError naming what is wrong."""

    @abstractmethod
    def format(self, element: Sequence[int]) -> str:
        """The canonical string of an element (inverse of `parse`)."""

    @abstractmethod
    def ordinals(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """int64 ordinal of each element, validating them."""

    @abstractmethod
    def elements(self, ordinals: Iterable[int] | None = None) -> np.ndarray:
        """(n, width) int64 elements of the given ordinals, or of the whole space in ordinal order."""

    @abstractmethod
    def neighbours(self, element: Sequence[int]) -> list[Element]:
        """The elements one step away (one setting changed)."""

    # -- encodings ---------------------------------------------------------------------------
    @abstractmethod
    def one_hot(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, d) float32 one-hot encoding."""

    @abstractmethod
    def tokens(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, n_tokens) int64 token ids for sequence models."""

    @abstractmethod
    def relations(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, n_tokens, n_tokens) int64: the relation of token i to token j, for an attention bias."""

    def dag(self, element: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """(adjacency (N, N) int8 with adjacency[i, j] = 1 for an edge i -> j, node labels), where the
        space has a DAG; NotImplementedError otherwise."""
        raise NotImplementedError(f"space {self.name!r} has no DAG")

    @property
    def has_dag(self) -> bool:
        return type(self).dag is not Space.dag

    def equivalence_key(self, element: Sequence[int]) -> Hashable:
        """A key equal for elements that compute the same function; NotImplementedError when the space
        defines no equivalence."""
        raise NotImplementedError(f"space {self.name!r} defines no equivalence between elements")

    @property
    def has_equivalence(self) -> bool:
        return type(self).equivalence_key is not Space.equivalence_key

    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Over the whole space: (class id of each ordinal, start of each class in the third array (one
        more entry than there are classes), ordinals sorted by class, ascending within a class).
        Without an equivalence every element is its own class. Computed once per space object."""
        cached = self.__dict__.get("_classes_cache")
        if cached is None:
            if self.has_equivalence:
                keys = np.asarray(self.equivalence_keys())
                if keys.dtype == object:
                    keys = keys.astype(str)
                _, group = np.unique(keys, return_inverse=True)
                group = group.reshape(-1).astype(np.int64)
            else:
                group = np.arange(self.size, dtype=np.int64)
            members = np.argsort(group, kind="stable").astype(np.int64)
            starts = np.searchsorted(group[members], np.arange(group.max() + 2)).astype(np.int64)
            for arr in (group, starts, members):
                arr.setflags(write=False)
            cached = (group, starts, members)
            self.__dict__["_classes_cache"] = cached
        return cached

    def canonical(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, width): each element's canonical form, a simplified member of its own equivalence class
        (NB201: the effective-op view, dead edges shown as `none`; a class may hold several such forms,
        one per isomorphic wiring). The default is the class member with the smallest ordinal, which
        every member shares (the element itself without an equivalence)."""
        ords = self.ordinals(elements)
        if not self.has_equivalence:
            return self.elements(ords)
        group, starts, members = self.classes()
        return self.elements(members[starts[group[ords]]])

    # Spaces are immutable: copies (scikit-learn's `clone` deep-copies settings) share the object.
    def __copy__(self) -> "Space":
        return self

    def __deepcopy__(self, memo: dict) -> "Space":
        return self

    # -- derived -----------------------------------------------------------------------------
    def validate(self, element: Sequence[int]) -> Element:
        """The element as a tuple of ints, or ParseError when it is not one of this space."""
        return tuple(int(v) for v in self.elements([self.ordinal(element)])[0])

    def ordinal(self, element: Sequence[int]) -> int:
        return int(self.ordinals([element])[0])

    def element(self, ordinal: int) -> Element:
        return tuple(int(v) for v in self.elements([ordinal])[0])

    def as_array(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """Elements as a validated (n, width) int64 array."""
        return self.elements(self.ordinals(elements))

    def check_ordinals(self, ordinals: Iterable[int]) -> np.ndarray:
        arr = np.asarray(list(ordinals) if not isinstance(ordinals, np.ndarray) else ordinals, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.size):
            raise ParseError(f"{self.name}: ordinals must lie in 0..{self.size - 1}")
        return arr

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """`n` elements drawn uniformly with a seeded generator, as an (n, width) array."""
        if not replace and n > self.size:
            raise UserError(f"cannot sample {n} distinct elements from the {self.size} of space {self.name!r}")
        return self.elements(rng.choice(self.size, size=n, replace=replace))

    def equivalence_keys(self, elements: Iterable[Sequence[int]] | None = None) -> list[Hashable]:
        arr = self.elements() if elements is None else self.as_array(elements)
        return [self.equivalence_key(e) for e in arr]

    def representatives(self) -> np.ndarray:
        """Ordinals of the first element of each equivalence class, ascending (every ordinal without one)."""
        group, starts, members = self.classes()
        return np.sort(members[starts[:-1]])

    def __repr__(self) -> str:
        return f"<space {self.name}: {self.size} elements>"

    def dag_labels(self) -> tuple[str, ...]:
        """Every label `dag` gives a node that is neither a source nor a sink (the ops), in a fixed
        order: what DAG-based encodings number their one-hot columns by. The default reads the DAG of
        every element once (a space can override it with its op list); () without a DAG."""
        if not self.has_dag:
            return ()
        cached = self.__dict__.get("_dag_labels_cache")
        if cached is None:
            seen: dict[str, None] = {}
            for element in self.elements():
                adj, labels = self.dag(element)
                inner = (adj.sum(axis=0) > 0) & (adj.sum(axis=1) > 0)
                for i in np.flatnonzero(inner):
                    seen.setdefault(labels[i])
            cached = tuple(sorted(seen))
            self.__dict__["_dag_labels_cache"] = cached
        return cached


class Benchmark(ABC):
    """Tabulated results over a space. Arrays are indexed by the ordinals of `space_of(dataset)`."""

    name: str
    space: Space
    datasets: tuple[str, ...]
    metrics: dict[str, Metric]
    default_metric: str = "valid"
    source: str = ""  # where the data comes from, for `data info` and provenance
    cost_unit: str = "seconds"  # what `cost` counts: training "seconds", or "evaluations" (1 each)

    # -- names -------------------------------------------------------------------------------
    def aliases(self) -> dict[str, str]:
        """Other accepted spellings of dataset names."""
        return {}

    def canonical_dataset(self, name: str) -> str:
        key = str(name).strip().lower()
        if key in self.datasets:
            return key
        alias = {k.lower(): v for k, v in self.aliases().items()}.get(key)
        if alias is None:
            raise UserError(f"unknown dataset {name!r} of space {self.name!r}; known: {', '.join(self.datasets)}")
        return alias

    def metric(self, name: str | None = None) -> Metric:
        name = self.default_metric if name is None else name
        if name not in self.metrics:
            raise UserError(f"unknown metric {name!r} of space {self.name!r}; known: {', '.join(self.metrics)}")
        return self.metrics[name]

    def space_of(self, dataset: str) -> Space:
        """The space a dataset's results cover (the whole space unless a dataset has fewer ops)."""
        self.canonical_dataset(dataset)
        return self.space

    # -- data --------------------------------------------------------------------------------
    @abstractmethod
    def fidelities(self, dataset: str) -> tuple[Fidelity, ...]:
        """The fidelities the table holds for `dataset`, the full one first."""

    @abstractmethod
    def values(self, dataset: str, metric: str | None = None, fidelity: str | None = None) -> np.ndarray:
        """float64 value of every element (ordinal order) at a fidelity (default: the full one)."""

    @abstractmethod
    def cost(self, dataset: str, fidelity: str | None = None) -> np.ndarray:
        """Seconds one evaluation of each element costs (ordinal order)."""

    def per_seed(self, dataset: str, metric: str | None = None) -> np.ndarray | None:
        """(size, n_seeds) float64 results of each training seed (NaN where a seed was not run), or
        None when the data has no per-seed results for this metric."""
        return None

    def checksum(self, dataset: str) -> DataChecksum:
        """The checksum of the data behind `dataset` (for provenance columns)."""
        return DataChecksum("", False)

    def fidelity(self, dataset: str, name: str | None) -> Fidelity:
        options = self.fidelities(dataset)
        if name is None:
            return options[0]
        for f in options:
            if f.name == str(name):
                return f
        raise UserError(f"dataset {dataset!r} of space {self.name!r} has no fidelity {name!r}; "
                        f"known: {', '.join(f.name for f in options)}")

    def lookup(self, dataset: str, elements: Iterable[Sequence[int]], metric: str | None = None,
               fidelity: str | None = None) -> np.ndarray:
        """Values of the given elements."""
        space = self.space_of(dataset)
        return self.values(dataset, metric, fidelity)[space.ordinals(elements)]

    def optimum(self, dataset: str, metric: str | None = None) -> Optimum:
        """The best value by the metric's direction, its first ordinal and every tie. Values within
        `TIE_TOLERANCE` (relative) of the best tie with it: tables store means, and two equal means
        summed in another order can differ in the last bit."""
        m = self.metric(metric)
        values = self.values(dataset, m.name)
        best = m.best_index(values)
        tolerance = TIE_TOLERANCE * max(1.0, abs(float(values[best])))
        ties = np.flatnonzero(np.abs(values - values[best]) <= tolerance)
        return Optimum(int(ties[0]), float(values[best]), tuple(int(t) for t in ties))

    def __repr__(self) -> str:
        return f"<benchmark {self.name}: {len(self.datasets)} datasets over {self.space!r}>"

    def threshold(self, dataset: str) -> float:
        """The value of the report metric (`test` where the benchmark has one, else the default metric)
        that counts as "good enough" on `dataset`: the value of the best 0.1% of elements by the
        metric's direction, i.e. the ceil(n/1000)-th best value over the dataset's n elements (NaN
        values left out)."""
        name = "test" if "test" in self.metrics else self.default_metric
        m = self.metric(name)
        values = self.values(dataset, name)
        values = values[~np.isnan(values)]
        if len(values) == 0:
            return float("nan")
        order = np.argsort(-m.utility(values), kind="stable")
        return float(values[order[max(int(np.ceil(len(values) / 1000.0)), 1) - 1]])


def as_int_array(elements: Iterable[Sequence[int]], width: int, what: str) -> np.ndarray:
    """(n, width) int64 array from tuples, lists or an array; ParseError on the wrong shape."""
    try:
        arr = np.asarray(list(elements) if not isinstance(elements, np.ndarray) else elements)
    except (TypeError, ValueError):
        raise ParseError(f"{what} must be sequences of {width} ints") from None
    if arr.size == 0:
        return np.zeros((0, width), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != width or not (np.issubdtype(arr.dtype, np.integer) or _integral(arr)):
        raise ParseError(f"{what} must be sequences of {width} ints, got shape {arr.shape}")
    return arr.astype(np.int64)


def _integral(arr: np.ndarray) -> bool:
    try:
        as_float = arr.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)))


def mixed_radix(arr: np.ndarray, radices: Sequence[int]) -> np.ndarray:
    """Ordinals of digit rows (first digit most significant); digits must be in range."""
    radices = np.asarray(radices, dtype=np.int64)
    places = np.concatenate([np.cumprod(radices[::-1])[::-1][1:], [1]]).astype(np.int64)
    return arr @ places


def from_mixed_radix(ordinals: np.ndarray, radices: Sequence[int]) -> np.ndarray:
    radices = np.asarray(radices, dtype=np.int64)
    places = np.concatenate([np.cumprod(radices[::-1])[::-1][1:], [1]]).astype(np.int64)
    return (ordinals[:, None] // places[None, :]) % radices[None, :]
