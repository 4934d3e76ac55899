"""Uniform random sampling without repeats: the baseline every guided search must beat."""

from __future__ import annotations

import numpy as np

from ..oracle import BudgetExhausted, Oracle
from ..surrogate import Surrogate
from .base import evaluate_all, unevaluated


class RandomSearch:
    """Evaluate uniformly drawn unevaluated cells until the budget is spent (ignores any predictor)."""

    def run(self, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> None:
        try:
            while not oracle.exhausted:
                evaluate_all(oracle, unevaluated(oracle, rng, 1))
        except BudgetExhausted:
            return
