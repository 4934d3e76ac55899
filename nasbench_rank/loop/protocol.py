"""What crosses between a search strategy and the framework: requests going out, observations coming back.

A strategy proposes `Request(cell, fidelity)`; the framework pays for it and answers with an
`Observation(cell, fidelity, value, cost)`. There is no test accuracy in either: the framework keeps
that in its ledger for the report, out of every strategy's reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import space
from ..errors import UserError

#: Training epochs a request may ask for: the full schedule and the table's short one.
FIDELITIES: tuple[int, ...] = (12, 200)
#: The fidelity whose results count for "to the optimum" and for the report.
FULL = 200
#: How the cost of an evaluation is modelled; written into every row.
COST_MODEL = "train_seconds*epochs/200"


def cost_of(train_seconds: float, fidelity: int) -> float:
    """GPU-seconds of training a cell for `fidelity` epochs: the table's 200-epoch seconds scaled
    linearly (`COST_MODEL`); the table has no timing of the 12-epoch schedule."""
    return float(train_seconds) * fidelity / FULL


class StrategyError(UserError):
    """A search plugin broke the protocol (a cell outside the space, a malformed proposal, more
    proposals than the budget allows). Exit code 1: the plugin is at fault, not the command line."""

    exit_code = 1


class PredictionError(UserError):
    """A predictor plugin returned non-finite predictions during a search. Exit code 1."""

    exit_code = 1


@dataclass(frozen=True)
class Request:
    """One evaluation a strategy asks for: a cell (six op indices) trained for `fidelity` epochs."""

    cell: tuple[int, ...]
    fidelity: int = FULL


@dataclass(frozen=True)
class Observation:
    """The answer to one request: the search metric (a fraction; higher is better) of `cell` after
    `fidelity` epochs, and the GPU-seconds paid for it (0.0 for a repeat, which is free)."""

    cell: tuple[int, ...]
    fidelity: int
    value: float
    cost: float


def as_request(item: Any, plugin: str) -> Request:
    """`item` (a Request, or a plain cell meaning fidelity 200) checked and normalised; a
    `StrategyError` naming `plugin` otherwise."""
    if isinstance(item, Request):
        cell, fidelity = item.cell, item.fidelity
    else:
        cell, fidelity = item, FULL
    if isinstance(fidelity, bool) or not isinstance(fidelity, (int, np.integer)) or int(fidelity) not in FIDELITIES:
        raise StrategyError(f"search plugin {plugin!r} asked for fidelity {fidelity!r}; allowed: "
                            f"{', '.join(map(str, FIDELITIES))} epochs")
    try:
        elems = list(cell) if not isinstance(cell, (str, bytes)) else None
    except TypeError:
        elems = None
    if elems is None or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in elems):
        raise StrategyError(f"search plugin {plugin!r} proposed {_short(item)}: not a cell (six integer op indices) "
                            "or a Request")
    try:
        cell = space.validate(elems)
    except ValueError:
        raise StrategyError(f"search plugin {plugin!r} proposed a cell outside the space: {_short(item)} (a cell is "
                            f"{space.N_EDGES} op indices in 0..{space.N_OPS - 1})") from None
    return Request(cell, int(fidelity))


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."
