"""WeakNAS (Wu et al., "Stronger NAS with Weaker Predictors", NeurIPS 2021), written from the paper's
description.

The method: instead of one strong predictor of the whole space, a sequence of weak predictors, each
fitted to the architectures sampled so far; each ranks the whole space, and the next architectures
are drawn at random from its top-ranked ones, so the sample set moves towards the good region and
the next predictor only has to rank that region well. The paper's weak predictor is a small MLP
(pair it here with `mlp`, online, refitted every round).
"""

from __future__ import annotations

from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import RandomOpening, as_cells, capped, check_int, top, unevaluated


class WeakNAS(RandomOpening, Strategy):
    """`init` random cells; then each round: score every unevaluated cell, keep the `top_n`
    best-scored, and draw `m` of them uniformly at random for evaluation (without scores: `m` random
    cells).

    Settings as we read the paper: init 10 random samples, then 10 samples per iteration drawn from
    the predictor's top 100 (top_n and m are the paper's N and M).
    """

    def __init__(self, init: int = 10, top_n: int = 100, m: int = 10):
        check_int(0, init=init)
        check_int(1, top_n=top_n, m=m)
        self.init = init
        self.top_n = top_n
        self.m = m
        self._started = False

    def ask(self, view: SearchView, n: int) -> list:
        first = self.opening(view)
        if first:
            return first
        rng = view.rng
        pool = unevaluated(view, rng, "all")  # shuffled: equal scores never favour low ordinals
        best = top(pool, view.score(pool), max(self.top_n, self.m), rng)
        picks = best[rng.choice(len(best), size=min(self.m, len(best)), replace=False)]
        return capped(view, as_cells(picks))
