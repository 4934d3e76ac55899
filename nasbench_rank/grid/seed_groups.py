"""The seeds of one predictor configuration as one job: where a predictor offers batched fitting
(`predictors.batched`: a `fit_many` classmethod, e.g. the ACT predictor), the grid's evaluation cells
that differ only in their seed (same protocol, score metric and every other setting) run together,
as `nasbench-rank eval` runs them, so their networks train in one stacked computation
(`quality.protocol.evaluate_seeds`).

A group is a unit of work for the executors (it has a kind, settings and an id, as a cell has); its
outcome comes back with one part per cell, and each cell still gets its own record, so a grid resumes
seed by seed: a rerun groups only the seeds that are not finished. A group that fails records every
one of its cells as failed with the group's error. Rows equal those of separate fits within the
predictor's stated tolerance (ACT: predictions within about 1e-5); each row's `fit_seconds` is the
joint fit's time divided by the number of seeds.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Iterator

from .spec import Cell

KIND = "eval-seeds"
#: the most seeds fitted together in one job (memory grows with the group; parallel workers need jobs)
MAX_GROUP = 10


@dataclass(frozen=True)
class SeedGroup:
    """Evaluation cells that differ only in their seed, run as one job."""

    cells: tuple[Cell, ...]
    kind: str = KIND

    @property
    def id(self) -> str:
        return "+".join(c.id for c in self.cells)

    @property
    def settings(self) -> dict[str, Any]:
        return {"cells": [c.settings for c in self.cells]}

    def label(self) -> str:
        seeds = ",".join(str(c.settings["seed"]) for c in self.cells)
        return self.cells[0].label().rsplit(" seed=", 1)[0] + f" seeds={seeds}"


def _batchable(settings: dict[str, Any]) -> bool:
    """Whether this evaluation's predictor fits several seeds together (NAS-Bench-201 only, as `eval`)."""
    if settings.get("space") not in (None, "", "nb201"):
        return False
    from ..plugins import get_plugins
    from ..predictors.batched import can_fit_many

    kwargs = dict(settings.get("predictor_kwargs") or {})
    if settings.get("loss"):
        kwargs["loss"] = settings["loss"]
    try:
        return can_fit_many([get_plugins().predictors.create(settings["predictor"], **kwargs)] * 2)
    except Exception:  # a setting the predictor rejects: the cell runs (and fails) on its own
        return False


def group_seeds(cells: list[Cell]) -> list[Any]:
    """`cells` with the evaluation cells of each batchable configuration gathered into SeedGroups of
    at most MAX_GROUP seeds; every other cell stays on its own, in order."""
    units: list[Any] = []
    groups: dict[str, list[Cell]] = {}
    decided: dict[str, bool] = {}
    for cell in cells:
        if cell.kind != "eval":
            units.append(cell)
            continue
        key = json.dumps({k: v for k, v in cell.settings.items() if k != "seed"}, sort_keys=True, default=str)
        if key not in decided:
            decided[key] = _batchable(cell.settings)
        if not decided[key]:
            units.append(cell)
            continue
        if key not in groups:
            groups[key] = []
            units.append(key)  # placeholder: the group takes the place of its first cell
        groups[key].append(cell)
    out: list[Any] = []
    for unit in units:
        if isinstance(unit, str):
            members = groups[unit]
            for start in range(0, len(members), MAX_GROUP):
                chunk = tuple(members[start:start + MAX_GROUP])
                out.append(chunk[0] if len(chunk) == 1 else SeedGroup(chunk))
        else:
            out.append(unit)
    return out


def run_group(settings: dict[str, Any]) -> dict[str, Any]:
    """The runner of a group: `evaluate_seeds` over its cells' seeds; one part (rows, files) per cell."""
    from ..quality.protocol import evaluate_seeds
    from .harness import PREDICTIONS_CSV, predictions_csv, protocol_kwargs

    cells = settings["cells"]
    s = cells[0]
    space = s.get("space") or "nb201"
    save = bool(s.get("save_predictions"))
    with ExitStack() as stack:
        dirs = [stack.enter_context(tempfile.TemporaryDirectory(prefix="nasbench-rank-")) if save else None
                for _ in cells]
        per_seed = list(evaluate_seeds(
            s["predictor"], [c["seed"] for c in cells], save_dirs=dirs, loss=s["loss"], source=s["source"],
            targets=tuple(s["targets"]), pool=s["pool"], n_train=s["n_train"], n_test=s["n_test"],
            metric=s["metric"], space=space, predictor_kwargs=s["predictor_kwargs"] or None, **protocol_kwargs(s)))
        parts = []
        for cell, rows, saved in zip(cells, per_seed, dirs):
            files = {PREDICTIONS_CSV: predictions_csv(saved, cell, int(rows[0]["n_test"]))} if save else {}
            parts.append({"rows": rows, "files": files})
    return {"rows": [], "parts": parts}


def split_outcome(unit: Any, outcome: dict[str, Any]) -> Iterator[tuple[Cell, dict[str, Any]]]:
    """(cell, its own outcome) for a cell's outcome, or for each cell of a group's."""
    if not isinstance(unit, SeedGroup):
        yield unit, outcome
        return
    n = len(unit.cells)
    parts = outcome.get("parts") or []
    for i, cell in enumerate(unit.cells):
        own = {k: v for k, v in outcome.items() if k != "parts"}
        own["seconds"] = round(float(outcome.get("seconds") or 0.0) / n, 3)
        if outcome["status"] == "ok" and len(parts) == n:
            own.update(rows=parts[i]["rows"], files=parts[i].get("files", {}), trace=[])
        elif outcome["status"] == "ok":  # cannot happen with the library's runner; never a silent loss
            own.update(status="error", error=f"the group returned {len(parts)} parts for {n} cells", rows=[],
                       trace=[], files={})
        yield cell, own
