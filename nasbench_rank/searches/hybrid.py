"""Exploit the predictor globally and refine around the incumbent in the same round.

A predictor ranks the whole space well but not finely; the global optimum of NAS-Bench-201 sits a
few edges from other near-optimal cells. So each round spends part of its `k` evaluations on the
best-scored cells anywhere and part on the best-scored cells near the best cell evaluated so far.
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..oracle import BudgetExhausted, Oracle
from ..surrogate import Surrogate
from .base import ALL_CELLS, check_pool, check_positive, evaluate_all, top, unevaluated


def near_incumbents(oracle: Oracle, radius: int) -> np.ndarray:
    """Unevaluated cells within `radius` edges of the best evaluated cell; when those are all known,
    of the next best, and so on (a local optimum that is fully explored hands over to the runner-up)."""
    free = ~oracle.evaluated_mask()
    for e in sorted(oracle.history, key=lambda e: (-e.value, e.number)):
        close = free & ((ALL_CELLS != np.asarray(e.cell)).sum(axis=1) <= radius)
        if close.any():
            return ALL_CELLS[close]
    return ALL_CELLS[:0]


class HybridSearch:
    """`init` random cells, then each round: refit the surrogate, evaluate the `local` best-scored
    unevaluated cells within `radius` edges of the incumbent and the `k - local` best-scored cells of
    the pool (`pool` random unevaluated cells, or "all"). Without scores both picks are random.

    `k=1, local=1` (registered as `local`) is a local search: the best-scored unevaluated neighbour of
    the incumbent each step (a random one without a predictor), moving on as soon as one improves;
    when every neighbour of the incumbent is known, the runner-up's neighbours come next.
    `refit_every=N` asks the surrogate to refit only every N evaluations: slow predictors (the ACT
    transformer) could not afford a refit after each of 210 one-cell steps."""

    def __init__(self, init: int = 10, pool: int | str = "all", k: int = 5, local: int = 2, radius: int = 1,
                 refit_every: int = 1):
        self.init = init
        self.pool = pool
        self.k = k
        self.local = local
        self.radius = radius
        self.refit_every = refit_every

    def run(self, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> None:
        pool = check_pool(self.pool)
        check_positive(k=self.k, radius=self.radius, refit_every=self.refit_every)
        if not 0 <= int(self.local) <= int(self.k):
            raise UserError(f"local must be in 0..k ({self.k}), got {self.local}")
        refit_at = 0
        try:
            evaluate_all(oracle, unevaluated(oracle, rng, int(self.init)))
            while not oracle.exhausted:
                if oracle.n_evals >= refit_at:
                    surrogate.update(oracle)
                    refit_at = oracle.n_evals + int(self.refit_every)
                near = near_incumbents(oracle, int(self.radius))
                near = near[rng.permutation(len(near))]
                if int(self.local):
                    evaluate_all(oracle, top(near, surrogate.score(near), int(self.local), rng))
                n_global = int(self.k) - int(self.local) if len(near) else int(self.k)
                if n_global:
                    candidates = unevaluated(oracle, rng, pool)
                    evaluate_all(oracle, top(candidates, surrogate.score(candidates), n_global, rng))
        except BudgetExhausted:
            return
