"""The only door to ground truth during a search: the framework's side of every evaluation.

The oracle answers requests with `Observation`s (the search metric at the requested fidelity, and
the cost) and keeps the ledger: what was paid, at which fidelity, at what cost, in which order, and
the test accuracy of each, for the report only. It is never handed to a strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import bench, space
from ..errors import UserError
from .protocol import FIDELITIES, FULL, Observation, Request, cost_of


@dataclass(frozen=True)
class Entry:
    """One paid evaluation in the ledger (`number` counts paid evaluations of every fidelity from 1)."""

    number: int
    index: int  # benchmark index
    cell: tuple[int, ...]
    fidelity: int
    value: float  # the search metric at `fidelity`, as a fraction
    test: float  # test accuracy (%) at `fidelity`: for the report only
    cost: float  # GPU-seconds of this evaluation
    gpu_seconds: float  # cumulative, including this one
    finished_at: float  # simulated wall-clock seconds when it finished (see `clock`)


class Oracle:
    """Evaluates requests against the table of `dataset`, answering the search metric as a fraction.

    A request for a (cell, fidelity) already paid for is answered free (cost 0) and not entered again.
    Evaluating a cell at 12 epochs and later at 200 pays both. Budgets are enforced by the runner.
    """

    def __init__(self, table: bench.Table, dataset: str, metric: str = "valid"):
        self.dataset = bench.canonical_dataset(dataset)
        self.metric = bench.check_metric(metric)
        self._table = table
        self._values = {f: table.accuracy(self.dataset, metric, epochs=f, fraction=True) for f in FIDELITIES}
        self._test = {f: table.accuracy(self.dataset, "test", epochs=f) for f in FIDELITIES}
        self._seconds = table.train_seconds(self.dataset)
        self._paid: dict[tuple[int, int], Entry] = {}
        self.ledger: list[Entry] = []
        self.gpu_seconds = 0.0

    def index_of(self, cell: tuple[int, ...]) -> int:
        return int(self._table.index_of(cell))

    def cost(self, request: Request) -> float:
        """What evaluating `request` would cost now (0.0 when it was paid for before)."""
        index = self.index_of(request.cell)
        if (index, request.fidelity) in self._paid:
            return 0.0
        return cost_of(self._seconds[index], request.fidelity)

    def is_paid(self, request: Request) -> bool:
        return (self.index_of(request.cell), request.fidelity) in self._paid

    def evaluate(self, request: Request, finished_at: float = 0.0) -> Observation:
        """Pay for `request` (unless already paid) and answer it."""
        index = self.index_of(request.cell)
        known = self._paid.get((index, request.fidelity))
        if known is not None:
            return Observation(known.cell, known.fidelity, known.value, 0.0)
        cost = cost_of(self._seconds[index], request.fidelity)
        self.gpu_seconds += cost
        entry = Entry(len(self.ledger) + 1, index, request.cell, request.fidelity,
                      float(self._values[request.fidelity][index]), float(self._test[request.fidelity][index]),
                      cost, self.gpu_seconds, float(finished_at))
        self._paid[(index, request.fidelity)] = entry
        self.ledger.append(entry)
        return Observation(entry.cell, entry.fidelity, entry.value, cost)

    @property
    def n_evals(self) -> int:
        return len(self.ledger)

    def best(self, fidelity: int = FULL) -> Entry | None:
        """The entry with the highest search metric at `fidelity` (the earliest on ties)."""
        entries = [e for e in self.ledger if e.fidelity == fidelity]
        if not entries:
            return None
        return max(entries, key=lambda e: (e.value, -e.number))


def check_budget(max_evals: int | None, max_gpu_hours: float | None) -> None:
    if max_evals is None and max_gpu_hours is None:
        raise UserError("a search needs a budget: evaluations (--budget) and/or GPU-hours (--gpu-hours)")
    if max_evals is not None and not 1 <= max_evals <= space.N_CELLS:
        raise UserError(f"budget must be 1..{space.N_CELLS} evaluations (the space holds {space.N_CELLS:,} cells), "
                        f"got {max_evals}")
    if max_gpu_hours is not None and not (np.isfinite(max_gpu_hours) and max_gpu_hours > 0):
        raise UserError(f"GPU-hours must be a positive number, got {max_gpu_hours}")
