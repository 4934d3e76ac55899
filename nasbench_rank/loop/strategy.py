"""The contract of a search strategy (ask/tell). Subclassing `Strategy` is optional: any object with
these two methods is a strategy.

    ask(view, n) -> list of requests
        Called whenever at least one simulated worker is free and nothing is queued; `n` is the
        number of free workers (1 in a sequential search). Return requests: `Request(cell, fidelity)`
        or plain elements of the space (the full fidelity). Returning more than `n` is allowed: the extra ones queue (see
        `view.pending`) and go to workers as they free up, and the strategy is not asked again until
        the queue is empty. An empty list means "nothing to propose now": the run ends when nothing
        is in flight either. A request for a (cell, fidelity) already paid for is answered at once,
        free; a request for one still pending, a cell outside the space, anything that is not a cell
        or a Request, or more new evaluations than `view.evals_left` stops the run with an error
        naming the plugin.

    tell(view, observations)
        Called with each batch of new `Observation`s as evaluations finish (in a sequential search,
        one at a time, in the order asked). The same observations are also in `view.observations`.

Spaces: a strategy runs on every space (NAS-Bench-201, NAS-Bench-Graph, FCNet, ...) when it reads
the space only through `view.space` (a `SpaceView`: sampling, neighbours, ordinals, encodings,
equivalence classes) and observation values as utilities (higher is better on every space). The
fidelities a dataset offers are `view.fidelities` (`FULL` everywhere; 12 on NAS-Bench-201 only); a
strategy that needs a lower one sets the class attribute `needs_fidelities = (12,)` and is refused
up front on a dataset without it.

Before every `ask` the framework refits the predictor per its mode and schedule, so `view.score`
reflects every full-fidelity observation allowed by that schedule. Settings are checked in `__init__`
(raise `UserError`), so that a bad `--search-set` fails before anything is fitted. A strategy that
needs `view.std` sets the class attribute `needs_std = True` and is refused up front with a predictor
that has no `predict_std`.
"""

from __future__ import annotations

from typing import Sequence

from .protocol import Observation, Request
from .view import SearchView


class Strategy:
    """Base class with a no-op `tell` (strategies that read `view.observations` need nothing else)."""

    needs_std = False

    def ask(self, view: SearchView, n: int) -> list[Request]:
        raise NotImplementedError

    def tell(self, view: SearchView, observations: Sequence[Observation]) -> None:
        return None
