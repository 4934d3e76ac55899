"""What crosses between a search strategy and the framework: requests going out, observations coming back.

A strategy proposes `Request(cell, fidelity)`; the framework pays for it and answers with an
`Observation(cell, fidelity, value, cost)`. There is no test accuracy in either: the framework keeps
that in its ledger for the report, out of every strategy's reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spaces import nb201_cell as space
from ..errors import PluginFailure, UserError

#: Training epochs a request may ask for on NAS-Bench-201: the full schedule and the table's short one.
#: Other spaces: `FULL` always names a dataset's full fidelity; a low fidelity is named by its epochs
#: (a space with one fidelity accepts `FULL` only).
FIDELITIES: tuple[int, ...] = (12, 200)
#: The fidelity whose results count for "to the optimum" and for the report (the full one).
FULL = 200
#: How the cost of an evaluation is modelled on NAS-Bench-201; written into every row (each space's
#: own model: `loop.oracle.cost_model`).
COST_MODEL = "train_seconds*epochs/200"


def cost_of(train_seconds: float, fidelity: int) -> float:
    """GPU-seconds of training a cell for `fidelity` epochs: the table's 200-epoch seconds scaled
    linearly (`COST_MODEL`); the table has no timing of the 12-epoch schedule."""
    return float(train_seconds) * fidelity / FULL


class StrategyError(UserError):
    """A search plugin broke the protocol (a cell outside the space, a malformed proposal, more
    proposals than the budget allows). Exit code 1: the plugin is at fault, not the command line."""

    exit_code = 1


class PredictionError(PluginFailure):
    """A predictor plugin returned non-finite predictions, or too many or too few, during a search.
    Exit code 1."""


@dataclass(frozen=True)
class Request:
    """One evaluation a strategy asks for: an element of the space (a cell: six op indices on
    NAS-Bench-201) trained for `fidelity` epochs (`FULL`: the full fidelity of any space)."""

    cell: tuple[int, ...]
    fidelity: int = FULL


@dataclass(frozen=True)
class Observation:
    """The answer to one request: the search metric of `cell` after `fidelity` epochs as a utility
    (higher is better: the metric negated where lower is better; a percentage as a fraction), and
    what was paid for it (GPU-seconds, or 1 per evaluation on a space priced in evaluations; 0.0 for
    a repeat, which is free)."""

    cell: tuple[int, ...]
    fidelity: int
    value: float
    cost: float


def as_request(item: Any, plugin: str, space_view: Any = None, fidelities: tuple[int, ...] = FIDELITIES) -> Request:
    """`item` (a Request, or a plain element meaning the full fidelity) checked and normalised against
    `space_view` (None: the NAS-Bench-201 cell space) and the `fidelities` the dataset offers; a
    `StrategyError` naming `plugin` otherwise."""
    if isinstance(item, Request):
        cell, fidelity = item.cell, item.fidelity
    else:
        cell, fidelity = item, FULL
    if isinstance(fidelity, bool) or not isinstance(fidelity, (int, np.integer)) or int(fidelity) not in fidelities:
        if len(fidelities) == 1 and fidelities[0] == FULL:
            raise StrategyError(f"search plugin {plugin!r} asked for fidelity {fidelity!r}, but this dataset has one "
                                f"fidelity only: the full one ({FULL})")
        raise StrategyError(f"search plugin {plugin!r} asked for fidelity {fidelity!r}; allowed: "
                            f"{', '.join(map(str, sorted(fidelities)))} epochs")
    try:
        elems = list(cell) if not isinstance(cell, (str, bytes)) else None
    except TypeError:
        elems = None
    if elems is None or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in elems):
        nb201 = space_view is None or space_view.name == "nb201"
        what = "a cell (six integer op indices)" if nb201 else "an element (a tuple of ints)"
        raise StrategyError(f"search plugin {plugin!r} proposed {_short(item)}: not {what} or a Request")
    if space_view is None or space_view.name == "nb201":
        try:
            cell = space.validate(elems)
        except ValueError:
            raise StrategyError(f"search plugin {plugin!r} proposed a cell outside the space: {_short(item)} (a cell "
                                f"is {space.N_EDGES} op indices in 0..{space.N_OPS - 1})") from None
    else:
        try:
            cell = space_view.validate(elems)
        except ValueError:
            raise StrategyError(f"search plugin {plugin!r} proposed a cell outside the space: {_short(item)} (not an "
                                f"element of space {space_view.name!r})") from None
    return Request(cell, int(fidelity))


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."
