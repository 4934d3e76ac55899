"""What a search strategy is given: a read-only `SearchView` of its own search.

The view holds only what a strategy may use: the space (a `SpaceView`), a seeded rng, copies of the
strategy's own observations, the requests still pending, the budget left, and the predictor's scores
through a `Scorer` (which holds the fitted predictor and nothing else). It holds no oracle, no table
and no test accuracy, and no object that refers to them; `tests/test_loop_view.py` walks every
attribute path from a view to prove it, and the space is a private copy, so that writing to it changes
nothing the framework uses. In the same process Python cannot stop a plugin from reaching the caller
(frames, `gc`, imports): by default a strategy therefore runs in a process of its own
(`loop.isolation`), which holds no table; see docs/concepts/threat-model.md.
"""

from __future__ import annotations

import pickle
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import UserError
from .protocol import FIDELITIES, FULL, Observation, Request
from .surrogate import Scorer


def private_copy(space_: Any) -> Any:
    """A copy of a space object that shares no attribute with it (a pickle round trip; spaces hold no
    data, so this is cheap), or a read-only proxy of it when it does not pickle."""
    try:
        return pickle.loads(pickle.dumps(space_, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return _ReadOnly(space_)


class _ReadOnly:
    """Forwards reads to a space; refuses every write."""

    __slots__ = ("_target",)

    def __init__(self, target: Any):
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_target"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the search space is read-only (tried to set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the search space is read-only (tried to delete {name!r})")


class SpaceView:
    """The search space as a strategy sees it (read-only): any `spaces.Space`, NAS-Bench-201 by default.

    An element is a tuple of `width` small ints; its ordinal is 0..size-1. On NAS-Bench-201 an element
    is a cell: six op indices (edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; ops none, skip_connect,
    nor_conv_1x1, nor_conv_3x3, avg_pool_3x3) whose ordinal is the base-5 number its ops spell.
    The NB201-era names stay as aliases: `n_cells` (= `size`), `all_cells` (= `all_elements`),
    `mutations` (= `neighbours`), `format_cell` (= `format`), `functional_key` (= `equivalence_key`),
    `to_ordinal` / `from_ordinal`, and `n_edges` / `n_ops` / `ops` where the space has edges and ops.
    """

    def __init__(self, space_: Any = None):
        if space_ is None:
            from ..spaces import default_space

            space_ = default_space()
        self._space = private_copy(space_)  # never the oracle's own object: patching it changes nothing there
        self.name = space_.name
        self.size = int(space_.size)
        self.n_cells = self.size
        self.width = int(space_.width)
        self.n_tokens = int(space_.n_tokens)
        self.vocab_size = int(space_.vocab_size)
        self.n_relations = int(space_.n_relations)
        self.has_equivalence = bool(space_.has_equivalence)
        self.has_dag = bool(space_.has_dag)
        if getattr(space_, "edges", None) is not None:  # a cell space: elements are one op per edge
            self.ops = tuple(space_.ops)
            self.n_ops = len(self.ops)
            self.n_edges = self.width

    # --- elements ---------------------------------------------------------------------------------
    def all_elements(self) -> np.ndarray:
        """Every element, a (size, width) int array in ordinal order (a fresh copy)."""
        return np.array(self._space.elements(), dtype=np.int64)

    all_cells = all_elements

    def elements(self, ordinals: Iterable[int] | None = None) -> np.ndarray:
        """(n, width) elements of the given ordinals (all of them when None), a fresh copy."""
        return np.array(self._space.elements(ordinals), dtype=np.int64)

    def choices(self) -> tuple[int, ...]:
        """How many values each position of an element takes (not every combination need be valid)."""
        return tuple(int(v) + 1 for v in self._space.elements().max(axis=0))

    def sample(self, rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """`n` elements drawn uniformly with `rng` (distinct unless `replace`), an (n, width) array."""
        return np.array(self._space.sample(rng, n, replace), dtype=np.int64)

    def neighbours(self, element: Sequence[int]) -> list[tuple[int, ...]]:
        """The elements one step away (on NAS-Bench-201 the 24 one-edge mutations), in a fixed order."""
        return list(self._space.neighbours(element))

    mutations = neighbours

    def validate(self, element: Sequence[int]) -> tuple[int, ...]:
        """`element` as a tuple of ints; ValueError when it is not an element of the space."""
        return self._space.validate(element)

    def ordinals(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return np.asarray(self._space.ordinals(elements), dtype=np.int64)

    def ordinal(self, element: Sequence[int]) -> int:
        return int(self._space.ordinal(element))

    to_ordinal = ordinal

    def element(self, ordinal: int) -> tuple[int, ...]:
        return self._space.element(ordinal)

    from_ordinal = element

    def as_array(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return np.array(self._space.as_array(elements), dtype=np.int64)

    # --- encodings --------------------------------------------------------------------------------
    def one_hot(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, d) one-hot encoding (NAS-Bench-201: (n, 30), edge-major)."""
        return self._space.one_hot(elements)

    def tokens(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return self._space.tokens(elements)

    def relations(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return self._space.relations(elements)

    def dag(self, element: Sequence[int]):
        return self._space.dag(element)

    def format(self, element: Sequence[int]) -> str:
        """The canonical string of an element (NAS-Bench-201: the official cell string)."""
        return self._space.format(element)

    format_cell = format

    # --- equivalence ------------------------------------------------------------------------------
    def equivalence_key(self, element: Sequence[int]):
        """Equal for elements that compute the same function (NotImplementedError without an equivalence)."""
        return self._space.equivalence_key(element)

    functional_key = equivalence_key

    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(class of each ordinal, class starts, ordinals sorted by class): see `spaces.Space.classes`;
        every element is its own class in a space without an equivalence. Read-only arrays."""
        return self._space.classes()

    def canonical(self, elements: Iterable[Sequence[int]]) -> np.ndarray:
        return self._space.canonical(elements)


class SearchView:
    """A strategy's read-only window on its search (the runner updates it between calls).

    - `space`: a `SpaceView` of the searched dataset's space; `fidelities`: the request fidelities it
      offers (`FULL`, and 12 on NAS-Bench-201); `rng`: a `numpy.random.Generator` seeded from the
      run's seed (draw all randomness from it, so that a seed reproduces a run);
    - `observations`: the strategy's own results so far, in the order they arrived, as a tuple of
      `Observation(cell, fidelity, value, cost)` (value: a utility, higher is better);
      `observations_at(fidelity)`; `best(fidelity)`;
    - `pending`: requests proposed but not yet answered (in flight on a simulated worker or queued);
    - `evaluated_mask(fidelity)` / `is_evaluated(cell, fidelity)`: what was paid for (repeats are free),
      a (space.size,) bool mask over ordinals;
    - budget: `evals_left` (None without an evaluation budget), `gpu_hours_left` (None without a
      GPU-hour budget), `evals_used`, `gpu_hours_used` (NaN on a space priced in evaluations);
      `workers` (simulated) and `clock_hours`;
    - predictor: `has_predictor`, `has_std`, `score(cells)` (predicted search metric, higher is
      better; None when there is no predictor or it has no model yet), `std(cells)` (None likewise;
      a UserError when the predictor has no `predict_std`).
    """

    def __init__(self, rng: np.random.Generator, scorer: Scorer | None, workers: int = 1,
                 evals_left: int | None = None, gpu_hours_left: float | None = None, space_: Any = None,
                 fidelities: tuple[int, ...] = FIDELITIES):
        self.space = space_ if isinstance(space_, SpaceView) else SpaceView(space_)
        self.fidelities = tuple(sorted(int(f) for f in fidelities))
        self.rng = rng
        self.workers = int(workers)
        self._scorer = scorer
        self._observations: list[Observation] = []
        self._masks = {f: np.zeros(self.space.size, dtype=bool) for f in self.fidelities}
        self._pending: tuple[Request, ...] = ()
        self._evals_left = evals_left
        self._gpu_hours_left = gpu_hours_left
        self._evals_used = 0
        self._gpu_hours_used = 0.0
        self._clock_hours = 0.0

    # --- observations -----------------------------------------------------------------------------
    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(self._observations)

    def observations_at(self, fidelity: int = FULL) -> tuple[Observation, ...]:
        return tuple(o for o in self._observations if o.fidelity == fidelity)

    def best(self, fidelity: int = FULL) -> Observation | None:
        """The observation with the highest value at `fidelity` (the earliest on ties), or None."""
        best = None
        for o in self._observations:
            if o.fidelity == fidelity and (best is None or o.value > best.value):
                best = o
        return best

    def evaluated_mask(self, fidelity: int = FULL) -> np.ndarray:
        """(n_cells,) bool over cell ordinals: True where the cell was paid for at `fidelity` (a copy)."""
        return self._masks[self._fidelity(fidelity)].copy()

    def is_evaluated(self, cell: Sequence[int], fidelity: int = FULL) -> bool:
        return bool(self._masks[self._fidelity(fidelity)][self.space.ordinal(cell)])

    @property
    def pending(self) -> tuple[Request, ...]:
        return self._pending

    # --- budget and clock -------------------------------------------------------------------------
    @property
    def evals_left(self) -> int | None:
        return self._evals_left

    @property
    def gpu_hours_left(self) -> float | None:
        return self._gpu_hours_left

    @property
    def evals_used(self) -> int:
        return self._evals_used

    @property
    def gpu_hours_used(self) -> float:
        return self._gpu_hours_used

    @property
    def clock_hours(self) -> float:
        """Simulated wall-clock hours since the search started."""
        return self._clock_hours

    # --- predictor --------------------------------------------------------------------------------
    @property
    def has_predictor(self) -> bool:
        return self._scorer is not None

    @property
    def has_std(self) -> bool:
        return self._scorer is not None and self._scorer.has_std

    def score(self, cells) -> np.ndarray | None:
        """Predicted search metric of `cells` (an (n, 6) array or a list of cells), or None."""
        return None if self._scorer is None else self._scorer.score(cells)

    def std(self, cells) -> np.ndarray | None:
        """Predictive standard deviation of `cells`, or None while there are no scores."""
        if self._scorer is None:
            return None
        if not self._scorer.has_std:
            raise UserError(f"predictor {self._scorer.name!r} has no predict_std; this search needs one "
                            "(an ensemble, e.g. 'xgb-ensemble')")
        return self._scorer.std(cells)

    # --- written by the runner only ----------------------------------------------------------------
    def _observe(self, observation: Observation) -> None:
        self._observations.append(observation)
        if observation.cost > 0:
            self._masks[observation.fidelity][self.space.ordinal(observation.cell)] = True

    def _fidelity(self, fidelity: int) -> int:
        if fidelity not in self.fidelities:
            raise UserError(f"fidelity must be one of {self.fidelities} epochs, got {fidelity!r}")
        return fidelity
