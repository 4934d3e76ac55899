"""The article's predictor-guided search: a random start, then rounds of score-a-pool, evaluate-the-top-k."""

from __future__ import annotations

import numpy as np

from ..oracle import BudgetExhausted, Oracle
from ..surrogate import Surrogate
from .base import check_pool, check_positive, evaluate_all, top, unevaluated


class TopKSearch:
    """`init` random cells, then each round: refit the surrogate (per its mode), score `pool`
    unevaluated cells (a number drawn at random, or "all"), evaluate the `k` best-scored.
    Without scores (no predictor, or an online one still abstaining) the round picks at random."""

    def __init__(self, init: int = 10, pool: int | str = 100, k: int = 5):
        self.init = init
        self.pool = pool
        self.k = k

    def run(self, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> None:
        pool = check_pool(self.pool)
        check_positive(k=self.k)
        try:
            evaluate_all(oracle, unevaluated(oracle, rng, int(self.init)))
            while not oracle.exhausted:
                surrogate.update(oracle)
                candidates = unevaluated(oracle, rng, pool)
                evaluate_all(oracle, top(candidates, surrogate.score(candidates), int(self.k), rng))
        except BudgetExhausted:
            return
