"""Local search as in White, Nolen & Savani, "Exploring the Loss Landscape in Neural Architecture
Search" (UAI 2021; first circulated as "Local Search is State of the Art for NAS Benchmarks"),
written from the paper's description.

The method: from a random architecture, evaluate its whole neighbourhood (every architecture one
edit away), move to the best of them if it beats the current one, and repeat; at a local optimum
(no neighbour is better) start again from a new random architecture.
"""

from __future__ import annotations

from ..loop.protocol import FULL
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import as_cells, capped, check_int, neighbours, random_start


class SteepestLocalSearch(Strategy):
    """`init` random cells (the best becomes the current cell); then the current cell's free
    neighbours are all evaluated, in a random order; when they are in, the best of them becomes the
    current cell if it beats it, else the search restarts from one new random cell. Unlike `local`
    (which moves as soon as one neighbour improves), the whole neighbourhood is paid for each step.
    Setting as we read the paper: a single random start (init 1)."""

    def __init__(self, init: int = 1):
        check_int(1, init=init)
        self.init = init
        self._current: tuple[int, ...] | None = None
        self._current_value = float("-inf")
        self._batch: list[tuple[int, ...]] = []
        self._values: dict[tuple[int, ...], float] = {}
        self._started = False

    def tell(self, view: SearchView, observations) -> None:
        for o in observations:
            if o.fidelity == FULL:
                self._values[o.cell] = o.value

    def ask(self, view: SearchView, n: int) -> list:
        if not self._started:
            self._started = True
            self._batch = random_start(view, self.init)
            return list(self._batch)
        if any(c not in self._values for c in self._batch):
            return []  # the neighbourhood is still being evaluated
        if self._batch:
            best = max(self._batch, key=lambda c: self._values[c])  # the first asked on ties
            if self._current is None or self._values[best] > self._current_value:
                self._current, self._current_value = best, self._values[best]
                self._batch = []
            else:
                self._current = None
        if self._current is None:  # a local optimum: restart from a random cell
            start = random_start(view, 1)
            self._batch = list(start)
            return start
        near = neighbours(self._current, view)
        near = near[view.rng.permutation(len(near))]
        picks = capped(view, as_cells(near))
        if not picks:  # every neighbour is known already: restart
            self._current = None
            picks = random_start(view, 1)
        self._batch = list(picks)
        return picks
