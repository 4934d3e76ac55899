"""The article's predictor-guided search: a random start, then rounds of score-a-pool, evaluate-the-top-k."""

from __future__ import annotations

import numpy as np

from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import RandomOpening, as_cells, capped, check_int, check_pool, top, unevaluated


class TopKSearch(RandomOpening, Strategy):
    """`init` random cells, then each round (the framework refits the predictor before it): score
    `pool` unevaluated cells (a number drawn at random, or "all"), propose the `k` best-scored.
    Without scores (no predictor, or an online one with no model yet) the round picks at random."""

    def __init__(self, init: int = 10, pool: int | str = 100, k: int = 5):
        check_int(0, init=init)
        check_int(1, k=k)
        self.init = init
        self.pool = check_pool(pool)
        self.k = k
        self._started = False

    def ask(self, view: SearchView, n: int) -> list:
        first = self.opening(view)
        if first:
            return first
        candidates = unevaluated(view, view.rng, self.pool)
        return capped(view, as_cells(top(candidates, self._rank(view, candidates), self.k, view.rng)))

    def _rank(self, view: SearchView, candidates: np.ndarray) -> np.ndarray | None:
        return view.score(candidates)
