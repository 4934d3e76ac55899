"""The search loop: the framework asks the strategy, pays the oracle, tells the strategy, refits the
predictor, enforces the budget and keeps the simulated clock. The only place a search runs."""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

import numpy as np

from ..errors import UserError, describe
from .clock import Clock
from .oracle import Oracle
from .protocol import FULL, Request, StrategyError, as_request
from .surrogate import Surrogate
from .view import SearchView

#: Asks in a row that may bring nothing new to pay for (only free repeats) before the run stops.
MAX_IDLE_ASKS = 1000


def run_loop(strategy: Any, name: str, oracle: Oracle, surrogate: Surrogate, view: SearchView, *,
             max_evals: int | None, max_gpu_hours: float | None, workers: int = 1,
             progress: Callable[[int], None] | None = None) -> Clock:
    """Run `strategy` (the plugin called `name`) until the budget is spent or it stops proposing.

    Budgets: at most `max_evals` paid evaluations (any fidelity) and/or `max_gpu_hours` of GPU time;
    an evaluation that would pass the GPU-hours ends the search (nothing after it is started).
    Returns the clock (simulated wall-clock in `clock.now`).
    """
    clock = Clock(workers)
    queue: deque[Request] = deque()
    paid_or_running = 0
    seconds_committed = 0.0
    stopped = False
    idle_asks = 0
    full_cells: list[tuple[int, ...]] = []
    full_values: list[float] = []

    def refresh() -> None:
        view._pending = tuple(clock.running()) + tuple(queue)
        view._evals_left = None if max_evals is None else max_evals - paid_or_running
        view._gpu_hours_left = None if max_gpu_hours is None else max(max_gpu_hours - seconds_committed / 3600.0, 0.0)
        view._evals_used = oracle.n_evals
        view._gpu_hours_used = oracle.gpu_seconds / 3600.0 if oracle.cost_unit == "seconds" else float("nan")
        view._clock_hours = clock.now / 3600.0

    def tell(observations) -> None:
        for o in observations:
            view._observe(o)
            if o.fidelity == FULL and o.cost > 0:
                full_cells.append(o.cell)
                full_values.append(o.value)
        refresh()
        _called(name, strategy.tell, view, list(observations))

    while True:
        while clock.free and not stopped:
            if not queue:
                if max_evals is not None and paid_or_running >= max_evals:
                    stopped = True
                    break
                if surrogate.active and surrogate.mode != "pretrained":
                    surrogate.update(np.asarray(full_cells, dtype=np.int64).reshape(-1, view.space.width),
                                     np.asarray(full_values))
                refresh()
                proposals = _called(name, strategy.ask, view, clock.free)
                requests = _checked(proposals, name, oracle, clock, max_evals, paid_or_running, view)
                if not requests:
                    break
                new = sum(not oracle.is_paid(r) for r in requests)
                idle_asks = 0 if new else idle_asks + 1
                if idle_asks > MAX_IDLE_ASKS:
                    raise StrategyError(f"search plugin {name!r} proposed only cells already evaluated "
                                        f"{MAX_IDLE_ASKS} times in a row")
                queue.extend(requests)
            request = queue.popleft()
            if oracle.is_paid(request):
                tell([oracle.evaluate(request, clock.now)])
                continue
            cost = oracle.cost(request)
            if max_gpu_hours is not None and seconds_committed + cost > max_gpu_hours * 3600.0:
                stopped = True  # the budget is spent: nothing more starts
                queue.clear()
                break
            paid_or_running += 1
            seconds_committed += cost
            clock.start(request, cost)
        if not clock.busy:
            break
        finish, request = clock.next()
        tell([oracle.evaluate(request, finish)])
        if progress is not None:
            progress(oracle.n_evals)
    refresh()
    return clock


def _called(name: str, method: Callable, *args: Any) -> Any:
    """A strategy's `ask` or `tell`; an exception of its own (not a UserError) becomes one line naming it."""
    try:
        return method(*args)
    except UserError:
        raise
    except Exception as exc:
        raise StrategyError(f"search plugin {name!r} failed: {describe(exc)}") from exc


def _checked(proposals: Any, name: str, oracle: Oracle, clock: Clock, max_evals: int | None, used: int,
             view: SearchView) -> list[Request]:
    if proposals is None or isinstance(proposals, (str, bytes, Request)) or not hasattr(proposals, "__iter__"):
        raise StrategyError(f"search plugin {name!r}: ask returned {type(proposals).__name__}, not a list of requests")
    if isinstance(proposals, np.ndarray) and proposals.ndim == 1:
        raise StrategyError(f"search plugin {name!r}: ask returned a 1-d array; return a list of cells or Requests")
    requests = [as_request(p, name, view.space, view.fidelities) for p in proposals]
    busy = set(clock.running())
    seen: set[Request] = set()
    for r in requests:
        if r in busy or r in seen:
            raise StrategyError(f"search plugin {name!r} proposed {r.cell} at {r.fidelity} epochs while it is "
                                "still pending")
        seen.add(r)
    new = sum(not oracle.is_paid(r) for r in requests)
    if max_evals is not None and new > max_evals - used:
        raise StrategyError(f"search plugin {name!r} proposed {new} new evaluations with {max_evals - used} left "
                            "in the budget")
    return requests
