"""Uniform random sampling without repeats: the baseline every guided search must beat."""

from __future__ import annotations

from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import as_cells, capped, unevaluated


class RandomSearch(Strategy):
    """Propose uniformly drawn unevaluated cells, one per free worker (ignores any predictor)."""

    def ask(self, view: SearchView, n: int) -> list:
        picks: list[tuple[int, ...]] = []
        for _ in capped(view, range(n)):
            cell = unevaluated(view, view.rng, 1, exclude=picks)
            if len(cell) == 0:
                break
            picks.extend(as_cells(cell))
        return picks
