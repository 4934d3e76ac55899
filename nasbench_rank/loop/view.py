"""What a search strategy is given: a read-only `SearchView` of its own search.

The view holds only what a strategy may use: the space (a `SpaceView`), a seeded rng, copies of the
strategy's own observations, the requests still pending, the budget left, and the predictor's scores
through a `Scorer` (which holds the fitted predictor and nothing else). It holds no oracle, no table
and no test accuracy, and no object that refers to them; `tests/test_loop_view.py` walks every
attribute path from a view to prove it. (Python cannot stop a plugin from importing the package's
modules itself; the guarantee is that nothing a strategy is handed leads to ground truth.)
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .. import space
from ..errors import UserError
from .protocol import FIDELITIES, FULL, Observation, Request
from .surrogate import Scorer


class SpaceView:
    """The NAS-Bench-201 cell space as a strategy sees it. A cell is a tuple of six op indices
    (edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; ops none, skip_connect, nor_conv_1x1, nor_conv_3x3,
    avg_pool_3x3). The ordinal of a cell is the base-5 number its ops spell (0..15624)."""

    name = "nb201"
    n_cells = space.N_CELLS
    n_edges = space.N_EDGES
    n_ops = space.N_OPS
    ops = space.OPS

    @staticmethod
    def all_cells() -> np.ndarray:
        """Every cell, a (n_cells, 6) int array in ordinal order (a fresh copy)."""
        return space.all_cells()

    @staticmethod
    def sample(rng: np.random.Generator, n: int, replace: bool = False) -> np.ndarray:
        """`n` cells drawn uniformly with `rng` (distinct unless `replace`), an (n, 6) array."""
        return space.sample(rng, n, replace)

    @staticmethod
    def mutations(cell: Sequence[int]) -> list[tuple[int, ...]]:
        """The 24 neighbours of `cell` (one edge changed), in a fixed order."""
        return space.mutations(cell)

    @staticmethod
    def validate(cell: Sequence[int]) -> tuple[int, ...]:
        """`cell` as a tuple of ints; ValueError when it is not a cell of the space."""
        return space.validate(cell)

    @staticmethod
    def ordinals(cells: Iterable[Sequence[int]]) -> np.ndarray:
        return space.ordinals(cells)

    @staticmethod
    def to_ordinal(cell: Sequence[int]) -> int:
        return space.to_ordinal(cell)

    @staticmethod
    def from_ordinal(ordinal: int) -> tuple[int, ...]:
        return space.from_ordinal(ordinal)

    @staticmethod
    def as_array(cells: Iterable[Sequence[int]]) -> np.ndarray:
        return space.as_array(cells)

    @staticmethod
    def one_hot(cells: Iterable[Sequence[int]]) -> np.ndarray:
        """(n, 30) one-hot encoding (edge-major)."""
        return space.one_hot(cells)

    @staticmethod
    def tokens(cells: Iterable[Sequence[int]]) -> np.ndarray:
        return space.tokens(cells)

    @staticmethod
    def format_cell(cell: Sequence[int]) -> str:
        """The official NAS-Bench-201 string of a cell."""
        return space.format_cell(cell)

    @staticmethod
    def functional_key(cell: Sequence[int]) -> str:
        """Equal for cells that compute the same function."""
        return space.functional_key(cell)


class SearchView:
    """A strategy's read-only window on its search (the runner updates it between calls).

    - `space`: a `SpaceView`; `rng`: a `numpy.random.Generator` seeded from the run's seed (draw all
      randomness from it, so that a seed reproduces a run);
    - `observations`: the strategy's own results so far, in the order they arrived, as a tuple of
      `Observation(cell, fidelity, value, cost)`; `observations_at(fidelity)`; `best(fidelity)`;
    - `pending`: requests proposed but not yet answered (in flight on a simulated worker or queued);
    - `evaluated_mask(fidelity)` / `is_evaluated(cell, fidelity)`: what was paid for (repeats are free);
    - budget: `evals_left` (None without an evaluation budget), `gpu_hours_left` (None without a
      GPU-hour budget), `evals_used`, `gpu_hours_used`; `workers` (simulated) and `clock_hours`;
    - predictor: `has_predictor`, `has_std`, `score(cells)` (predicted search metric, higher is
      better; None when there is no predictor or it has no model yet), `std(cells)` (None likewise;
      a UserError when the predictor has no `predict_std`).
    """

    def __init__(self, rng: np.random.Generator, scorer: Scorer | None, workers: int = 1,
                 evals_left: int | None = None, gpu_hours_left: float | None = None):
        self.space = SpaceView()
        self.rng = rng
        self.workers = int(workers)
        self._scorer = scorer
        self._observations: list[Observation] = []
        self._masks = {f: np.zeros(space.N_CELLS, dtype=bool) for f in FIDELITIES}
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
        return self._masks[_fidelity(fidelity)].copy()

    def is_evaluated(self, cell: Sequence[int], fidelity: int = FULL) -> bool:
        return bool(self._masks[_fidelity(fidelity)][space.to_ordinal(cell)])

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
            self._masks[observation.fidelity][space.to_ordinal(observation.cell)] = True


def _fidelity(fidelity: int) -> int:
    if fidelity not in FIDELITIES:
        raise UserError(f"fidelity must be one of {FIDELITIES} epochs, got {fidelity!r}")
    return fidelity
