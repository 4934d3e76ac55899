"""A greedy hill-climbing search strategy for nasbench-rank (ask/tell).

It starts from `init` random elements. Then, one request per free worker, it proposes the
best-scored unevaluated neighbour of the best element so far (a random neighbour without a
predictor). When that neighbourhood is used up, it proposes random unevaluated elements until one
of them beats the incumbent, and climbs from there.
"""

import numpy as np

from nasbench_rank.errors import UserError
from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.loop import FULL, Request, Strategy


class GreedyClimb(Strategy):
    def __init__(self, init: int = 5):
        # settings are checked here, so a bad --search-set fails before anything runs
        if isinstance(init, bool) or not isinstance(init, int) or init < 1:
            raise UserError(f"init must be an integer >= 1, got {init!r}")
        self.init = init  # the framework refuses a budget smaller than `init` up front
        self.incumbent = None  # (value, element) of the best full-fidelity observation so far
        self.restarts = 0

    def ask(self, view, n):
        if view.evals_left is not None:
            n = min(n, view.evals_left)
        taken = {r.cell for r in view.pending}  # proposed, not answered yet
        proposals = []
        for _ in range(n):
            element = self._next(view, taken)
            if element is None:
                break
            taken.add(element)
            proposals.append(Request(element, fidelity=FULL))
        return proposals  # [] means nothing to propose: the run ends once nothing is in flight

    def tell(self, view, observations):
        for o in observations:  # Observation(cell, fidelity, value, cost); value: higher is better
            if o.fidelity == FULL and (self.incumbent is None or o.value > self.incumbent[0]):
                self.incumbent = (o.value, o.cell)

    def _next(self, view, taken):
        started = len(view.observations) + len(taken)  # taken: pending and just proposed
        if self.incumbent is not None and started >= self.init:
            moves = [m for m in view.space.neighbours(self.incumbent[1])
                     if m not in taken and not view.is_evaluated(m)]
            if moves:
                scores = view.score(moves)  # None without a predictor, or before its first fit
                if scores is None:
                    return moves[int(view.rng.integers(len(moves)))]
                return moves[int(np.argmax(scores))]
            self.restarts += 1
        return self._random(view, taken)

    def _random(self, view, taken):
        free = ~view.evaluated_mask()  # over ordinals 0..size-1
        for element in taken:
            free[view.space.ordinal(element)] = False
        if not free.any():
            return None
        return view.space.element(int(view.rng.choice(np.flatnonzero(free))))


@hookimpl
def register_searches(register):
    register("greedy", GreedyClimb, "hill climbing over neighbours, best-scored first, random restarts")
