"""Regularized evolution (aging evolution), optionally with a predictor screening the mutants."""

from __future__ import annotations

from collections import deque

import numpy as np

from .. import space
from ..oracle import BudgetExhausted, Oracle
from ..surrogate import Surrogate
from .base import check_positive, neighbours, top, unevaluated


class RegularizedEvolution:
    """A population of `population` evaluated cells, started at random. Each step: a tournament of
    `sample` members, the fittest is the parent; a one-edge mutant of it is evaluated, joins the
    population and the oldest member leaves (aging keeps the search from settling on one lucky cell).

    `screen=N` (> 0) with a predictor: N distinct unevaluated mutants are scored and only the best
    is evaluated. Without scores, or with `screen=0`, one unevaluated mutant is drawn at random.
    """

    def __init__(self, population: int = 20, sample: int = 5, screen: int = 0):
        self.population = population
        self.sample = sample
        self.screen = screen

    @property
    def init(self) -> int:
        return self.population

    def run(self, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> None:
        check_positive(population=self.population, sample=self.sample)
        members: deque[tuple[space.Cell, float]] = deque()
        try:
            for cell in unevaluated(oracle, rng, int(self.population)):
                members.append((space.validate(cell), oracle.evaluate(cell)))
            while not oracle.exhausted:
                picks = rng.choice(len(members), size=min(int(self.sample), len(members)), replace=False)
                parent = max((members[i] for i in picks), key=lambda m: m[1])[0]
                child = self._child(parent, oracle, surrogate, rng)
                members.append((child, oracle.evaluate(child)))
                if len(members) > self.population:
                    members.popleft()
        except BudgetExhausted:
            return

    def _child(self, parent: space.Cell, oracle: Oracle, surrogate: Surrogate, rng: np.random.Generator) -> space.Cell:
        mutants = neighbours(parent, oracle)
        if len(mutants) == 0:  # every neighbour is known: a random restart keeps the budget useful
            return space.validate(unevaluated(oracle, rng, 1)[0])
        mutants = mutants[rng.permutation(len(mutants))]
        if self.screen > 0:
            surrogate.update(oracle)
            mutants = mutants[: int(self.screen)]
            return space.validate(top(mutants, surrogate.score(mutants), 1, rng)[0])
        return space.validate(mutants[0])
