"""Regularized evolution (aging evolution), optionally with a predictor screening the mutants."""

from __future__ import annotations

from collections import deque

from ..loop.protocol import FULL
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import capped, check_int, neighbours, random_start, top, unevaluated


class RegularizedEvolution(Strategy):
    """A population of `population` evaluated cells, started at random. Each step: a tournament of
    `sample` members, the fittest is the parent; a neighbour of it (one edge, or one setting, changed) is evaluated, joins the
    population and the oldest member leaves (aging keeps the search from settling on one lucky cell).
    With several free workers, one child per worker, each from its own tournament.

    `screen=N` (> 0) with a predictor: N distinct unevaluated mutants are scored and only the best
    is proposed. Without scores, or with `screen=0`, one unevaluated mutant is drawn at random.
    """

    def __init__(self, population: int = 20, sample: int = 5, screen: int = 0):
        check_int(1, population=population, sample=sample)
        check_int(0, screen=screen)
        self.population = population
        self.sample = sample
        self.screen = screen
        self._members: deque[tuple[tuple[int, ...], float]] = deque()
        self._started = False

    @property
    def init(self) -> int:
        return self.population

    def tell(self, view: SearchView, observations) -> None:
        for o in observations:
            if o.fidelity == FULL and o.cost > 0:
                self._members.append((o.cell, o.value))
                if len(self._members) > self.population:
                    self._members.popleft()

    def ask(self, view: SearchView, n: int) -> list:
        if not self._started:
            self._started = True
            return random_start(view, self.population)
        children: list[tuple[int, ...]] = []
        for _ in capped(view, range(n)):
            if not self._members:
                break
            members = self._members
            picks = view.rng.choice(len(members), size=min(self.sample, len(members)), replace=False)
            parent = max((members[i] for i in picks), key=lambda m: m[1])[0]
            child = self._child(parent, view, children)
            if child is None:
                break
            children.append(child)
        return children

    def _child(self, parent, view: SearchView, taken: list) -> tuple[int, ...] | None:
        mutants = neighbours(parent, view, exclude=taken)
        if len(mutants) == 0:  # every neighbour is known: a random restart keeps the budget useful
            fresh = unevaluated(view, view.rng, 1, exclude=taken)
            return view.space.validate(fresh[0]) if len(fresh) else None
        mutants = mutants[view.rng.permutation(len(mutants))]
        if self.screen > 0:
            mutants = mutants[: self.screen]
            return view.space.validate(top(mutants, view.score(mutants), 1, view.rng)[0])
        return view.space.validate(mutants[0])
