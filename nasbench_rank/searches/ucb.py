"""Upper-confidence-bound and Thompson selection: spend part of the budget where the predictor is unsure."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..oracle import BudgetExhausted, Oracle
from ..surrogate import Surrogate
from .base import check_pool, check_positive, evaluate_all, require_std, top, unevaluated


class UCBSearch:
    """Like `topk`, but candidates are ranked by an acquisition over the predictor's mean and std:
    `acquisition="ucb"`: mean + beta * std; `"thompson"`: one draw from N(mean, std) per candidate.
    Needs a predictor with `predict_std` (an ensemble); without scores it picks at random."""

    def __init__(self, init: int = 10, pool: int | str = 100, k: int = 5, beta: float = 1.0, acquisition: str = "ucb"):
        self.init = init
        self.pool = pool
        self.k = k
        self.beta = beta
        self.acquisition = acquisition

    def run(self, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> None:
        pool = check_pool(self.pool)
        check_positive(k=self.k)
        if self.acquisition not in ("ucb", "thompson"):
            raise UserError(f"acquisition must be 'ucb' or 'thompson', got {self.acquisition!r}")
        require_std(surrogate, "ucb")
        try:
            evaluate_all(oracle, unevaluated(oracle, rng, int(self.init)))
            while not oracle.exhausted:
                surrogate.update(oracle)
                candidates = unevaluated(oracle, rng, pool)
                evaluate_all(oracle, top(candidates, self._acquire(candidates, surrogate, rng), int(self.k), rng))
        except BudgetExhausted:
            return

    def _acquire(self, cells: np.ndarray, surrogate: Surrogate, rng: np.random.Generator) -> np.ndarray | None:
        mean = surrogate.score(cells)
        std = surrogate.std(cells)
        if mean is None or std is None:
            return None
        if self.acquisition == "thompson":
            return mean + std * rng.standard_normal(len(cells)).astype(np.float32)
        return mean + float(self.beta) * std
