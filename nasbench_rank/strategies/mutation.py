"""Candidates by mutation, shared by the predictor-guided strategies of the literature (BANANAS,
NPENAS): free elements one or a few steps from given parents, read through the `SearchView` only."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..loop.protocol import FULL
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import RandomOpening, as_cells, capped, check_int, free_mask, unevaluated


def best_cells(view: SearchView, n: int) -> list[tuple[int, ...]]:
    """The `n` paid full-fidelity cells with the highest observed values, best first (the earliest on ties)."""
    seen: dict[tuple[int, ...], tuple[float, int]] = {}
    for i, o in enumerate(view.observations_at(FULL)):
        if o.cost > 0 and o.cell not in seen:
            seen[o.cell] = (o.value, i)
    return [c for c, _ in sorted(seen.items(), key=lambda kv: (-kv[1][0], kv[1][1]))[:n]]


def mutants(view: SearchView, parents: Sequence[Sequence[int]], n: int, steps: Sequence[int] = (1,)) -> np.ndarray:
    """Up to `n` distinct free elements (not paid at full fidelity, not pending), each a random walk
    of s steps (`s` drawn uniformly from `steps`) through `view.space.neighbours` from a parent, the
    parents taken in turn. When the parents' surroundings run dry, uniformly drawn free elements fill
    the rest (so a round never comes back short while the space has free elements)."""
    rng = view.rng
    free = free_mask(view)
    space = view.space
    picked: dict[int, tuple[int, ...]] = {}
    if parents:
        misses = 0
        i = 0
        while len(picked) < n and misses < 20 * max(len(parents), 1):
            cell = tuple(int(v) for v in parents[i % len(parents)])
            i += 1
            for _ in range(int(steps[int(rng.integers(len(steps)))])):
                near = space.neighbours(cell)
                if not near:
                    break
                cell = tuple(near[int(rng.integers(len(near)))])
            ordinal = int(space.ordinal(cell))
            if free[ordinal] and ordinal not in picked:
                picked[ordinal] = cell
                misses = 0
            else:
                misses += 1
    out = np.asarray(list(picked.values()), dtype=np.int64).reshape(-1, space.width)
    if len(out) < n:
        extra = unevaluated(view, rng, n - len(out), exclude=[tuple(c) for c in out])
        out = np.concatenate([out, extra]) if len(out) else extra
    return out


class MutationSearch(RandomOpening, Strategy):
    """`init` random cells; then each round `candidates` children of the `parents` best evaluated
    cells (random walks of `steps` through the space's neighbours), of which `pick` chooses the `k`
    to evaluate. The literature's predictor-guided evolutions differ in `steps` and `pick`."""

    steps: Sequence[int] = (1,)

    def __init__(self, init: int = 10, k: int = 10, candidates: int = 100, parents: int = 10):
        check_int(0, init=init)
        check_int(1, k=k, candidates=candidates, parents=parents)
        self.init = init
        self.k = k
        self.candidates = candidates
        self.parents = parents
        self._started = False

    def ask(self, view: SearchView, n: int) -> list:
        first = self.opening(view)
        if first:
            return first
        cands = mutants(view, best_cells(view, self.parents), max(self.candidates, self.k), steps=self.steps)
        if len(cands) == 0:
            return []
        return capped(view, as_cells(self.pick(view, cands)))

    def pick(self, view: SearchView, cands: np.ndarray) -> np.ndarray:
        raise NotImplementedError
