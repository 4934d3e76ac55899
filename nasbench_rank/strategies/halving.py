"""Successive halving over the two fidelities: screen cheaply at 12 epochs, train the best for 200.

A bracket is a set of candidate cells. Rung 0 asks for each candidate's 12-epoch result (12/200 of
its full cost, see `loop.protocol.COST_MODEL`); rung 1 promotes the candidates with the best
12-epoch results to 200 epochs, best first, at most ceil(len(bracket) / eta) of them. Only 200-epoch
results count as the search's result; 12-epoch results only order the promotions.

Where a bracket comes from (`around`):
- "random": `n` unevaluated cells drawn at random (plain successive halving, bracket after bracket).
  With a predictor (BOHB-like), the `n` best-scored of `pool` random unevaluated cells instead.
- "incumbent": the unevaluated one-edge neighbours of the best 200-epoch cell so far; promotions stop
  as soon as one beats that cell (the next bracket is then the neighbourhood of the new best). A
  neighbourhood whose quota is spent without improvement is done, and the runner-up's comes next;
  when every known cell's neighbourhood is done, a random bracket. The first bracket is random.
  With a predictor and `screen` = m, only the m best-scored neighbours are screened (all of them
  while there are no scores yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from ..loop.protocol import FULL, Request
from ..loop.strategy import Strategy
from ..loop.view import SearchView
from .base import all_elements, as_cells, capped, check_int, check_pool, free_mask, neighbours, top

LOW = 12


@dataclass
class Bracket:
    cells: list[tuple[int, ...]]
    quota: int  # promotions allowed
    anchor: tuple[int, ...] | None = None  # the incumbent whose neighbourhood this is (None: random)
    anchor_value: float = -math.inf
    screened: bool = False  # rung-0 requests issued
    promoted: list[tuple[int, ...]] = field(default_factory=list)
    improved: bool = False


class SuccessiveHalving(Strategy):
    """Two-rung successive halving (12 -> 200 epochs); see the module docstring. It needs a dataset
    with a 12-epoch fidelity (NAS-Bench-201): elsewhere the run is refused before it starts.

    Settings: `n` cells per random bracket (>= 1), `eta` (>= 2: at most ceil(bracket/eta) of a
    bracket are trained to 200 epochs; 6 was chosen among 3, 6, 12 on seeds 100-109), `around` ("random" or "incumbent"), `pool` (cells scored to
    pick a random bracket when a predictor has scores; "all" or a number >= n), `screen` (0: screen
    every neighbour of the incumbent; m >= 1: only the m best-scored, when there are scores),
    `promote` ("low": promote by 12-epoch result; "mix": by the mean of its rank and the predictor
    score's rank, when there are scores).
    """

    needs_fidelities = (LOW,)

    def __init__(self, n: int = 24, eta: int = 6, around: str = "random", pool: int | str = 1000, screen: int = 0,
                 promote: str = "low"):
        check_int(1, n=n)
        if promote not in ("low", "mix"):
            raise UserError(f"promote must be 'low' or 'mix', got {promote!r}")
        self.promote = promote
        check_int(0, screen=screen)
        self.screen = screen
        check_int(2, eta=eta)
        if around not in ("random", "incumbent"):
            raise UserError(f"around must be 'random' or 'incumbent', got {around!r}")
        self.pool = check_pool(pool)
        if self.pool != "all" and self.pool < n:
            raise UserError(f"pool must be 'all' or >= n ({n}), got {pool!r}")
        self.n = n
        self.eta = eta
        self.around = around
        self._bracket: Bracket | None = None
        self._low: dict[tuple[int, ...], float] = {}
        self._full: dict[tuple[int, ...], float] = {}
        self._done: set[tuple[int, ...]] = set()

    def tell(self, view: SearchView, observations) -> None:
        for o in observations:
            if o.fidelity == FULL:
                self._full[o.cell] = o.value
                b = self._bracket
                if b is not None and b.anchor is not None and o.cell in b.promoted and o.value > b.anchor_value:
                    b.improved = True
            else:
                self._low[o.cell] = o.value

    def ask(self, view: SearchView, n: int) -> list:
        pending = set(view.pending)
        for _ in range(3):  # a finished bracket makes way for the next one at most once per ask
            b = self._bracket if self._bracket is not None else self._next_bracket(view)
            if b is None:
                return []
            self._bracket = b
            if not b.screened:
                b.screened = True
                asks = [Request(c, LOW) for c in b.cells if Request(c, LOW) not in pending]
                if asks:
                    return capped(view, asks)
            if any(Request(c, LOW) in pending for c in b.cells):
                return []  # rung 0 still running: wait for it
            waiting = any(Request(c, FULL) in pending for c in b.promoted)
            left = [c for c in b.cells if c not in self._full and Request(c, FULL) not in pending]
            if b.improved or len(b.promoted) >= b.quota or not left:
                if waiting:
                    return []
                if b.anchor is not None and not b.improved:
                    self._done.add(b.anchor)
                self._bracket = None
                continue
            left = self._promotion_order(view, left)
            k = min(max(n, 1), b.quota - len(b.promoted), len(left))
            picks = capped(view, left[:k])
            b.promoted.extend(picks)
            return [Request(c, FULL) for c in picks]
        return []

    def _promotion_order(self, view: SearchView, left: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
        """`left` best first: by 12-epoch result, or with `promote="mix"` and scores, by the mean of the
        12-epoch result's rank and the predictor score's rank (ties: 12-epoch result, then the order given)."""
        low = np.array([self._low.get(c, -math.inf) for c in left])
        scores = view.score(np.asarray(left)) if self.promote == "mix" and len(left) > 1 else None
        if scores is None:
            return [left[i] for i in np.argsort(-low, kind="stable")]
        from scipy.stats import rankdata  # here: scipy.stats costs ~0.5 s to import, and only "mix" needs it

        mix = rankdata(-low) + rankdata(-np.asarray(scores, dtype=float))
        return [left[i] for i in np.lexsort((-low, mix))]

    def _next_bracket(self, view: SearchView) -> Bracket | None:
        if self.around == "incumbent" and self._full:
            for cell, value in sorted(self._full.items(), key=lambda kv: -kv[1]):
                if cell in self._done:
                    continue
                near = neighbours(cell, view)
                scores = view.score(near) if self.screen and len(near) > self.screen else None
                if scores is not None:  # shuffled first, so that equal scores never favour low ordinals
                    order = view.rng.permutation(len(near))
                    near = top(near[order], scores[order], self.screen, view.rng)
                near = as_cells(near)
                if near:
                    return Bracket(near, max(1, math.ceil(len(near) / self.eta)), cell, value)
                self._done.add(cell)
        free = free_mask(view) & ~view.evaluated_mask(LOW)
        for r in view.pending:
            free[view.space.ordinal(r.cell)] = False
        cells = all_elements(view)[free]
        if len(cells) == 0:
            return None
        rng = view.rng
        size = len(cells) if self.pool == "all" else min(self.pool, len(cells))
        cells = cells[rng.choice(len(cells), size=size, replace=False)]
        picked = as_cells(top(cells, view.score(cells), self.n, rng))
        return Bracket(picked, max(1, math.ceil(len(picked) / self.eta)))
