"""The scoreboard's settings of a `[[search]]` block: label protocol, refit schedule and regret marks.

    labels = ["seed", "mean"]       # how evaluations are answered (`loop.oracle.NOISE`); an axis
    refit_every = 10                # refit the predictor after this many new results (run_search)
    warm_every = 0                  # warm-start it in between (0: never)
    regret_marks = [10, 25, 50, 100]  # evaluation marks of the regret columns (default: loop.regret.EVAL_MARKS)
    eps = [0.1, 0.2, 0.5]           # eps of hit / identify, in regret units (default: the space's)

A setting left at its default is not written into a cell's settings, so the ids of cells of specs
written before these settings existed do not change.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from ..loop import regret
from ..loop.oracle import NOISE

#: key -> default (the value run_search uses when the key is absent).
KEYS: dict[str, Any] = {"labels": ["mean"], "refit_every": 1, "warm_every": 0, "regret_marks": None, "eps": None}
#: spec key -> run_search keyword.
RUN_ARGS = {"labels": "oracle", "refit_every": "refit_every", "warm_every": "warm_every",
            "regret_marks": "regret_marks", "eps": "eps"}
#: The cell setting that carries one value of the `labels` axis.
AXIS = "labels"
CELL_KEY = "oracle"


def _int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def problems(values: dict[str, Any], benchmark: Any, datasets: list[str], metrics: list[str],
             budgets: list[Any]) -> list[str]:
    """Problems of a block's scoreboard settings (one line each); `benchmark` is the block's space's
    benchmark (None: NAS-Bench-201)."""
    out = []
    labels = values["labels"] if isinstance(values["labels"], list) else [values["labels"]]
    for v in labels:
        if v not in NOISE:
            out.append(f"labels = {v!r}: must be one of {', '.join(NOISE)}")
    if "seed" in labels:
        if benchmark is None:
            from ..spaces import load

            benchmark = load("nb201")
        for dataset in datasets:
            for metric in metrics:
                try:
                    per_seed = benchmark.per_seed(dataset, metric)
                except UserError as exc:
                    out.append(f"labels = 'seed': {exc}")
                    continue
                if per_seed is None:
                    out.append(f"labels = 'seed': dataset {dataset!r} of space {benchmark.name!r} has no per-seed "
                               f"results for metric {metric!r} (its data holds means only)")
    if not _int(values["refit_every"], 1):
        out.append(f"refit_every must be an integer >= 1, got {values['refit_every']!r}")
    if not _int(values["warm_every"], 0):
        out.append(f"warm_every must be an integer >= 0, got {values['warm_every']!r}")
    if values["regret_marks"] is not None:
        marks = values["regret_marks"]
        if not isinstance(marks, list) or not marks:
            out.append(f"regret_marks must be a non-empty list of evaluation counts, got {marks!r}")
        else:
            for budget in budgets:
                try:
                    regret.check_marks(marks, budget if _int(budget, 1) else None)
                except UserError as exc:
                    out.append(str(exc))
    if values["eps"] is not None:
        eps = values["eps"]
        try:
            regret.check_eps(eps if isinstance(eps, list) else [eps])
        except UserError as exc:
            out.append(str(exc))
    return list(dict.fromkeys(out))


def fixed(values: dict[str, Any]) -> dict[str, Any]:
    """The non-axis settings that differ from their defaults (what goes into every cell of the block)."""
    out = {}
    for key in ("refit_every", "warm_every", "regret_marks", "eps"):
        value = values[key]
        if key == "eps" and value is not None and not isinstance(value, list):
            value = [value]
        if value != KEYS[key]:
            out[key] = value
    return out


def run_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """run_search keywords of a cell's settings (only those the cell names)."""
    out = {}
    if settings.get(CELL_KEY) is not None:
        out["oracle"] = settings[CELL_KEY]
    for key in ("refit_every", "warm_every", "regret_marks", "eps"):
        if key in settings:
            out[RUN_ARGS[key]] = settings[key]
    return out
