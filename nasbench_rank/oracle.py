"""The only door to ground truth during a search.

A strategy sees the search metric of the cells it pays for and nothing else; the oracle keeps the
books (distinct evaluations, GPU-seconds) and records test accuracy for the report only, so that no
strategy can read the table or exceed its budget by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import bench, space
from .errors import UserError


class BudgetExhausted(Exception):
    """Raised by `Oracle.evaluate` when paying for one more cell would pass the budget.

    Not a UserError: strategies catch it to end their loop; it is never shown to a user.
    """


@dataclass(frozen=True)
class Evaluation:
    """One paid evaluation, in the order it was made (`number` starts at 1)."""

    number: int
    index: int
    cell: space.Cell
    value: float  # the search metric, as a fraction
    test: float  # test accuracy, percent: for the report only
    gpu_seconds: float  # cumulative, including this evaluation


class Oracle:
    """Answers `evaluate(cell)` with the search metric of `dataset` as a fraction.

    A repeat of a cell already evaluated costs nothing and is not counted again. The budget is
    `max_evals` distinct evaluations and/or `max_gpu_hours` of training time; an evaluation that would
    pass either raises `BudgetExhausted`, and so does every call after it.
    """

    def __init__(self, table: bench.Table, dataset: str, metric: str = "valid", max_evals: int | None = None,
                 max_gpu_hours: float | None = None):
        if max_evals is not None and max_evals < 0:
            raise UserError(f"max_evals must be >= 0, got {max_evals}")
        if max_gpu_hours is not None and max_gpu_hours < 0:
            raise UserError(f"max_gpu_hours must be >= 0, got {max_gpu_hours}")
        self.dataset = bench.canonical_dataset(dataset)
        self.metric = bench.check_metric(metric)
        self.max_evals = max_evals
        self.max_gpu_hours = max_gpu_hours
        self._table = table
        self._values = table.accuracy(self.dataset, metric, fraction=True)
        self._test = table.accuracy(self.dataset, "test")
        self._seconds = table.train_seconds(self.dataset)
        self._seen: dict[int, Evaluation] = {}
        self._history: list[Evaluation] = []
        self._gpu_seconds = 0.0
        self._exhausted = False
        self._mask = np.zeros(space.N_CELLS, dtype=bool)

    def evaluate(self, cell: Sequence[int]) -> float:
        """The search metric of `cell` (fraction); pays for it unless it was evaluated before."""
        try:
            cell = space.validate(cell)
        except ValueError as exc:
            raise UserError(f"cell outside the NAS-Bench-201 space: {exc}") from None
        index = self._table.index_of(cell)
        if index in self._seen:
            return self._seen[index].value
        cost = float(self._seconds[index])
        if self._exhausted or self._would_pass(cost):
            self._exhausted = True
            raise BudgetExhausted(f"budget spent after {len(self._history)} evaluations")
        self._gpu_seconds += cost
        record = Evaluation(len(self._history) + 1, index, cell, float(self._values[index]),
                            float(self._test[index]), self._gpu_seconds)
        self._seen[index] = record
        self._history.append(record)
        self._mask[space.to_ordinal(cell)] = True
        return record.value

    def _would_pass(self, cost: float) -> bool:
        if self.max_evals is not None and len(self._history) >= self.max_evals:
            return True
        return self.max_gpu_hours is not None and self._gpu_seconds + cost > self.max_gpu_hours * 3600.0

    def is_evaluated(self, cell: Sequence[int]) -> bool:
        return self._table.index_of(cell) in self._seen

    def evaluated_mask(self) -> np.ndarray:
        """(15625,) bool over cell ordinals (the order of `space.all_cells()`): True where paid for.

        Ordinals, not benchmark indices, so that strategies need nothing from the table.
        """
        return self._mask.copy()

    @property
    def history(self) -> list[Evaluation]:
        return list(self._history)

    @property
    def n_evals(self) -> int:
        return len(self._history)

    @property
    def gpu_seconds(self) -> float:
        return self._gpu_seconds

    @property
    def exhausted(self) -> bool:
        """True once an evaluation was refused, or no evaluation is left under `max_evals`."""
        return self._exhausted or (self.max_evals is not None and len(self._history) >= self.max_evals)

    @property
    def remaining(self) -> int | None:
        """Evaluations left under `max_evals` (None when only GPU-hours bound the search)."""
        if self.max_evals is None:
            return None
        return 0 if self._exhausted else self.max_evals - len(self._history)

    def best(self) -> Evaluation | None:
        """The evaluation with the highest search metric so far (the earliest on ties)."""
        if not self._history:
            return None
        return max(self._history, key=lambda e: (e.value, -e.number))
