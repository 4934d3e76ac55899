"""The only door to ground truth during a search: the framework's side of every evaluation.

The oracle answers requests with `Observation`s (the search metric at the requested fidelity, as a
utility: higher is better, and the cost) and keeps the ledger: what was paid, at which fidelity, at
what cost, in which order, and the report metric (test, where the benchmark has one) of each, for
the report only. It is never handed to a strategy.

It reads a `spaces.Benchmark`: `values(dataset, metric, fidelity)` for the answers,
`values(dataset, report metric)` for the ledger, `cost(dataset, fidelity)` for the price, and with
`noise="seed"` `per_seed(dataset, metric)` (see `Oracle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tables import nb201 as bench
from ..errors import UserError
from .protocol import COST_MODEL, FULL, Observation, Request

#: How an evaluation's result is drawn: the mean over training seeds (the table's value), or one
#: training seed's result drawn with the run's rng, as one real training run would give.
NOISE = ("mean", "seed")


@dataclass(frozen=True)
class Entry:
    """One paid evaluation in the ledger (`number` counts paid evaluations of every fidelity from 1)."""

    number: int
    index: int  # NB201: the benchmark's official index; other spaces: the ordinal
    cell: tuple[int, ...]
    fidelity: int
    value: float  # the search metric at `fidelity`, as a utility (NB201: a fraction)
    test: float  # the report metric (test where there is one) at `fidelity`, in its own units: for the report only
    cost: float  # GPU-seconds of this evaluation (1.0 on a space priced in evaluations)
    gpu_seconds: float  # cumulative, including this one
    finished_at: float  # simulated wall-clock seconds when it finished (see `clock`)


def as_benchmark(source: Any):
    """A `spaces.Benchmark` from a benchmark, or from a NAS-Bench-201 `bench.Table` (wrapped)."""
    if isinstance(source, bench.Table):
        from ..spaces.nb201 import NB201Benchmark

        bm = NB201Benchmark()
        bm.__dict__["table"] = source  # the cached property, filled with the table given
        return bm
    return source


def report_metric(bm) -> str:
    """The metric the report shows beside the search metric: `test` where the benchmark has one, else
    its default metric (FCNet: the validation loss, the mean over seeds)."""
    return "test" if "test" in bm.metrics else bm.default_metric


def cost_model(bm, dataset: str) -> str:
    """What the cost of an evaluation is, written into every row."""
    if bm.cost_unit == "evaluations":
        return "1 evaluation each (no training time in the data)"
    if getattr(bm, "name", "") == "nb201":
        return COST_MODEL
    fids = bm.fidelities(dataset)
    if len(fids) == 1:
        return "train_seconds"
    return f"train_seconds*epochs/{fids[0].epochs}"


def fidelity_names(bm, dataset: str) -> dict[int, str | None]:
    """Request fidelities a dataset offers -> the benchmark's fidelity names: `FULL` is the full one;
    a lower fidelity is named by its epochs."""
    fids = bm.fidelities(dataset)
    out: dict[int, str | None] = {FULL: fids[0].name}
    for f in fids[1:]:
        if f.epochs is not None and int(f.epochs) != FULL:
            out[int(f.epochs)] = f.name
    return out


def utility_scale(metric) -> float:
    """The factor between a metric's values and its utilities: 100 for a percentage (a fraction as
    the utility, as NAS-Bench-201 searches always had), 1 otherwise."""
    return 100.0 if metric.unit == "%" else 1.0


def to_utility(metric, values: np.ndarray) -> np.ndarray:
    """Metric values as utilities (higher is better); a percentage as a float32 fraction."""
    scale = utility_scale(metric)
    values = np.asarray(values, dtype=np.float64)
    if scale != 1.0:
        return metric.utility((values / scale).astype(np.float32)).astype(np.float32)
    return metric.utility(values)


def from_utility(metric, value: float) -> float:
    """A utility back in the metric's own units (what rows report)."""
    value = float(value) * utility_scale(metric)
    value = value if metric.direction == "max" else -value
    return float(np.exp(value)) if getattr(metric, "log", False) else value


class Oracle:
    """Evaluates requests against the table of `dataset`, answering the search metric as a utility.

    A request for a (cell, fidelity) already paid for is answered free (cost 0) and not entered again.
    Evaluating a cell at 12 epochs and later at 200 pays both. Budgets are enforced by the runner.

    `noise="seed"`: each paid full-fidelity evaluation answers one training seed's result, drawn
    uniformly (with `rng`) among the seeds the data holds for that element (NaN seeds skipped);
    lower fidelities, which have no per-seed data, answer the mean. A dataset without per-seed
    results refuses it (a one-line UserError).
    """

    def __init__(self, benchmark: Any, dataset: str, metric: str = "valid", noise: str = "mean",
                 rng: np.random.Generator | None = None):
        bm = as_benchmark(benchmark)
        self._benchmark = bm
        self.dataset = bm.canonical_dataset(dataset)
        self.metric = bm.metric(metric).name
        if noise not in NOISE:
            raise UserError(f"unknown oracle {noise!r}; known: {', '.join(NOISE)}")
        self.noise = noise
        self.space = bm.space_of(self.dataset)
        self.cost_unit = bm.cost_unit
        self.report_metric = report_metric(bm)
        m = bm.metric(self.metric)
        self._metric = m
        self.direction = m.direction
        self.fidelities = fidelity_names(bm, self.dataset)
        self._values = {f: to_utility(m, bm.values(self.dataset, self.metric, name)) for f, name in self.fidelities.items()}
        self._test = {f: np.asarray(bm.values(self.dataset, self.report_metric, name), dtype=np.float64)
                      for f, name in self.fidelities.items()}
        full_cost = np.asarray(bm.cost(self.dataset), dtype=np.float64)
        full_epochs = bm.fidelities(self.dataset)[0].epochs
        self._cost = {}
        for f, name in self.fidelities.items():
            if f == FULL or bm.cost_unit == "evaluations" or not full_epochs:
                self._cost[f] = full_cost if f == FULL else np.asarray(bm.cost(self.dataset, name), dtype=np.float64)
            else:  # the stated model: the full schedule's time scaled by epochs (what `bm.cost` says too)
                self._cost[f] = full_cost * f / full_epochs
        self._seeds = None
        if noise == "seed":
            per_seed = bm.per_seed(self.dataset, self.metric)
            if per_seed is None:
                raise UserError(f"dataset {self.dataset!r} of space {bm.name!r} has no per-seed results for metric "
                                f"{self.metric!r}; the 'seed' oracle needs them (use the mean)")
            self._seeds = to_utility(m, per_seed)
            self._rng = rng if rng is not None else np.random.default_rng(0)
        # NB201 ledgers and rows name cells by the table's official index, as they always have
        order = getattr(bm, "_order", None) if getattr(bm, "name", "") == "nb201" else None
        self._index = None if order is None else np.asarray(order, dtype=np.int64)
        self._paid: dict[tuple[int, int], Entry] = {}
        self._ordinals: dict[tuple[int, ...], int] = {}  # requests' cells are validated tuples
        self.ledger: list[Entry] = []
        self.gpu_seconds = 0.0

    def ordinal_of(self, cell: tuple[int, ...]) -> int:
        ordinal = self._ordinals.get(cell)
        if ordinal is None:
            ordinal = self._ordinals[cell] = int(self.space.ordinal(cell))
        return ordinal

    def index_of(self, cell: tuple[int, ...]) -> int:
        """The row index of a cell (NB201: the official index; elsewhere the ordinal)."""
        return self.row_index(self.ordinal_of(cell))

    def row_index(self, ordinal: int) -> int:
        return int(ordinal) if self._index is None else int(self._index[int(ordinal)])

    def cost(self, request: Request) -> float:
        """What evaluating `request` would cost now (0.0 when it was paid for before)."""
        ordinal = self.ordinal_of(request.cell)
        if (ordinal, request.fidelity) in self._paid:
            return 0.0
        return float(self._cost[request.fidelity][ordinal])

    def is_paid(self, request: Request) -> bool:
        return (self.ordinal_of(request.cell), request.fidelity) in self._paid

    def _answer(self, ordinal: int, fidelity: int) -> float:
        if self._seeds is None or fidelity != FULL:
            return float(self._values[fidelity][ordinal])
        row = self._seeds[ordinal]
        ok = np.flatnonzero(~np.isnan(row))
        if len(ok) == 0:
            return float(self._values[fidelity][ordinal])
        return float(row[ok[int(self._rng.integers(len(ok)))]])

    def evaluate(self, request: Request, finished_at: float = 0.0) -> Observation:
        """Pay for `request` (unless already paid) and answer it."""
        ordinal = self.ordinal_of(request.cell)
        known = self._paid.get((ordinal, request.fidelity))
        if known is not None:
            return Observation(known.cell, known.fidelity, known.value, 0.0)
        cost = float(self._cost[request.fidelity][ordinal])
        self.gpu_seconds += cost
        entry = Entry(len(self.ledger) + 1, self.row_index(ordinal), request.cell, request.fidelity,
                      self._answer(ordinal, request.fidelity), float(self._test[request.fidelity][ordinal]),
                      cost, self.gpu_seconds, float(finished_at))
        self._paid[(ordinal, request.fidelity)] = entry
        self.ledger.append(entry)
        return Observation(entry.cell, entry.fidelity, entry.value, cost)

    def to_metric(self, value: float) -> float:
        """A utility in the search metric's own units (NB201: percent)."""
        return from_utility(self._metric, value)

    @property
    def n_evals(self) -> int:
        return len(self.ledger)

    def best(self, fidelity: int = FULL) -> Entry | None:
        """The entry with the highest utility at `fidelity` (the earliest on ties)."""
        entries = [e for e in self.ledger if e.fidelity == fidelity]
        if not entries:
            return None
        return max(entries, key=lambda e: (e.value, -e.number))


def check_budget(max_evals: int | None, max_gpu_hours: float | None, size: int | None = None,
                 space_name: str = "nb201", cost_unit: str = "seconds") -> None:
    if max_evals is None and max_gpu_hours is None:
        raise UserError("a search needs a budget: evaluations (--budget) and/or GPU-hours (--gpu-hours)")
    if size is None:
        from ..spaces import nb201_cell as space

        size = space.N_CELLS
    if max_evals is not None and not 1 <= max_evals <= size:
        what = "cells" if space_name == "nb201" else "elements"
        raise UserError(f"budget must be 1..{size} evaluations (the space holds {size:,} {what}), got {max_evals}")
    if max_gpu_hours is not None and not (np.isfinite(max_gpu_hours) and max_gpu_hours > 0):
        raise UserError(f"GPU-hours must be a positive number, got {max_gpu_hours}")
    if max_gpu_hours is not None and cost_unit != "seconds":
        raise UserError(f"space {space_name!r} has no training times (an evaluation costs 1 {cost_unit[:-1]}): "
                        "use --budget, not --gpu-hours")
