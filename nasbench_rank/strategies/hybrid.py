"""Exploit the predictor globally and refine around the incumbent in the same round.

A predictor ranks the whole space well but not finely; the global optimum of NAS-Bench-201 sits a
few edges from other near-optimal cells. So each round spends part of its `k` evaluations on the
best-scored cells anywhere and part on the best-scored cells near the best cell evaluated so far.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import UserError
from ..loop.protocol import FULL
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import (all_elements, RandomOpening, as_cells, capped, check_int, check_pool, free_mask, top,
    twins_of_known, unevaluated)


@lru_cache(maxsize=1024)
def _close_in(key: tuple, ordinal: int, radius: int) -> np.ndarray:
    elements = _SPACES[key]
    mask = (elements != elements[ordinal]).sum(axis=1) <= radius
    mask.flags.writeable = False
    return mask


_SPACES: dict[tuple, np.ndarray] = {}


def _close(view: SearchView, ordinal: int, radius: int) -> np.ndarray:
    """(size,) bool: the elements that differ from the one with this ordinal in at most `radius`
    positions (NAS-Bench-201: edges), read-only."""
    elements = all_elements(view)
    key = (view.space.name, view.space.size, view.space.width)
    _SPACES.setdefault(key, elements)
    return _close_in(key, int(ordinal), int(radius))


def near_incumbents(view: SearchView, radius: int, blocked: np.ndarray | None = None, incumbents: int = 1
                    ) -> np.ndarray:
    """Free elements within `radius` positions (edges) of the best evaluated one; when those are all
    known, of the next best, and so on (a local optimum that is fully explored hands over to the
    runner-up). With `incumbents` m > 1: the free elements near any of the m best evaluated elements
    that still have free ones near them (in ordinal order)."""
    free = free_mask(view, blocked=blocked)
    elements = all_elements(view)
    observed = list(enumerate(view.observations_at(FULL)))
    found = np.zeros_like(free)
    taken = 0
    for _, o in sorted((pair for pair in observed if pair[1].cost > 0), key=lambda p: (-p[1].value, p[0])):
        close = free & _close(view, view.space.ordinal(o.cell), radius)
        if close.any():
            found |= close
            taken += 1
            if taken == incumbents:
                break
    return elements[found]


class HybridSearch(RandomOpening, Strategy):
    """`init` random cells, then each round: propose the `local` best-scored unevaluated cells
    within `radius` edges of the incumbent and the `k - local` best-scored cells of the pool (`pool`
    random unevaluated cells, or "all"). Without scores both picks are random.

    `k=1, local=1` (registered as `local`) is a local search: the best-scored unevaluated neighbour of
    the incumbent each step (a random one without a predictor), moving on as soon as one improves;
    when every neighbour of the incumbent is known, the runner-up's neighbours come next. How often
    the predictor is refit is a run setting (`refit_every`), not the strategy's.

    `skip_twins=True` never proposes a cell that computes the same function (the space's equivalence
    classes, `view.space.classes()`) as one already evaluated or pending: its result would repeat what
    is known, up to training noise. In a space without an equivalence it changes nothing."""

    def __init__(self, init: int = 10, pool: int | str = "all", k: int = 5, local: int = 2, radius: int = 1,
                 skip_twins: bool = False, incumbents: int = 1):
        if not isinstance(skip_twins, bool):
            raise UserError(f"skip_twins must be true or false, got {skip_twins!r}")
        self.skip_twins = skip_twins
        check_int(0, init=init, local=local)
        check_int(1, k=k, radius=radius, incumbents=incumbents)
        if not 0 <= local <= k:
            raise UserError(f"local must be in 0..k ({k}), got {local}")
        self.init = init
        self.pool = check_pool(pool)
        self.k = k
        self.local = local
        self.radius = radius
        self.incumbents = incumbents
        self._started = False

    def ask(self, view: SearchView, n: int) -> list:
        first = self.opening(view)
        if first:
            return first
        rng = view.rng
        blocked = twins_of_known(view) if self.skip_twins else None
        near = near_incumbents(view, self.radius, blocked, self.incumbents)
        near = near[rng.permutation(len(near))]
        picks: list[tuple[int, ...]] = []
        if self.local:
            picks = capped(view, as_cells(top(near, view.score(near), self.local, rng)))
        n_global = self.k - self.local if len(near) else self.k
        if n_global and (view.evals_left is None or len(picks) < view.evals_left):
            blocked = twins_of_known(view, picks) if self.skip_twins else None
            candidates = unevaluated(view, rng, self.pool, exclude=picks, blocked=blocked)
            picks += as_cells(top(candidates, view.score(candidates), n_global, rng))
        return capped(view, picks)
