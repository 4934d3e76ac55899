"""Regret of a search run: what the run would return at each point, against the best it could return.

Every definition is in `docs/concepts/search-protocol.md`; in short:

- the *incumbent* after each paid evaluation is the full-fidelity element with the best value the
  search itself observed (the earliest on ties): under single-seed labels that is one seed's result,
  so the incumbent can be a lucky cell;
- its *simple regret* is how far the incumbent's noise-free value (the table's mean over training
  seeds of the search metric) is from the optimum of that mean, in `regret units` (see `regret_of`),
  so regret >= 0 and 0 means the incumbent is the optimum; its *test regret* is the same for the
  report metric (NB201: test accuracy) against that metric's optimum;
- `hit` (eps): the first evaluation after which an element within eps of the optimum has been
  evaluated; `identified` (eps): the first evaluation after which the incumbent is within eps;
  `top` (k): the first evaluation of one of the k best elements (by the noise-free mean);
- the normalised area under the regret curve: the mean over evaluations 1..B of the incumbent's
  regret divided by the median element's regret, each term capped at 1 (before the first
  full-fidelity result the term is 1).

Nothing here reads a table: `Reference` holds the arrays a run is measured against, built once per
dataset by `reference`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..errors import UserError
from .protocol import FULL as FULL_FIDELITY

#: Evaluation budgets at which the regret is recorded (those past a run's budget are left out).
EVAL_MARKS: tuple[int, ...] = (10, 25, 50, 100, 150, 200, 300)
#: GPU-hour marks per space (spaces priced in evaluations have none).
HOUR_MARKS: dict[str, tuple[float, ...]] = {"nb201": (10.0, 30.0, 100.0, 300.0)}
#: eps per space, in regret units: NB201 accuracy points; NAS-Bench-Graph's fractions, the same
#: points; FCNet's log validation MSE (0.01 ~ 1% above the optimal MSE).
EPS: dict[str, tuple[float, ...]] = {
    "nb201": (0.1, 0.2, 0.5),
    "nbgraph": (0.001, 0.002, 0.005),
    "fcnet": (0.01, 0.02, 0.05),
}
#: Any other space: eps as these fractions of the median element's regret.
EPS_FRACTIONS: tuple[float, ...] = (0.01, 0.02, 0.05)
#: "evaluations to the top k": k.
TOP_K = 10


def regret_of(values: np.ndarray, optimum: float, direction: str, unit: str = "", log: bool = False) -> np.ndarray:
    """Regret of `values` against `optimum` in regret units: the metric's own units (a percentage in
    points), natural-log units for a log-scaled metric; >= 0 for every value of the table."""
    values = np.asarray(values, dtype=np.float64)
    if log:
        values, optimum = np.log(values), math.log(optimum)
    return optimum - values if direction == "max" else values - optimum


@dataclass(frozen=True)
class Reference:
    """What a run on one dataset is measured against (arrays over the dataset's ordinals)."""

    regret: np.ndarray  # search metric: regret of each element's noise-free mean
    test_regret: np.ndarray  # report metric: regret of each element
    test: np.ndarray  # report metric's values (its own units)
    top: frozenset  # ordinals of the TOP_K best elements by the noise-free mean
    median_regret: float  # regret of the median element (the normaliser of the area)
    eps: tuple[float, ...]
    hour_marks: tuple[float, ...]


def default_eps(space_name: str, median_regret: float) -> tuple[float, ...]:
    eps = EPS.get(space_name)
    return eps if eps is not None else tuple(f * median_regret for f in EPS_FRACTIONS)


def reference(bm, dataset: str, metric: str, report: str, eps: Sequence[float] | None = None,
              hour_marks: Sequence[float] | None = None) -> Reference:
    """The `Reference` of `dataset` of benchmark `bm` for search metric `metric` and report metric
    `report` (eps and hour marks default to the space's)."""
    m, r = bm.metric(metric), bm.metric(report)
    values = np.asarray(bm.values(dataset, m.name), dtype=np.float64)
    test = np.asarray(bm.values(dataset, r.name), dtype=np.float64)
    opt = float(bm.optimum(dataset, m.name).value)
    test_opt = float(bm.optimum(dataset, r.name).value)
    regret = regret_of(values, opt, m.direction, m.unit, getattr(m, "log", False))
    test_regret = regret_of(test, test_opt, r.direction, r.unit, getattr(r, "log", False))
    finite = np.isfinite(regret)
    order = np.flatnonzero(finite)[np.argsort(regret[finite], kind="stable")]
    median = float(np.median(regret[finite]))
    space_name = bm.space_of(dataset).name
    return Reference(regret, test_regret, test, frozenset(int(o) for o in order[:TOP_K]), median,
                     tuple(check_eps(eps)) if eps is not None else default_eps(space_name, median),
                     tuple(hour_marks) if hour_marks is not None else HOUR_MARKS.get(space_name, ()))


def check_eps(eps: Iterable) -> list[float]:
    """eps values: positive finite numbers (a UserError naming the bad one)."""
    out = []
    for e in eps:
        if isinstance(e, bool) or not isinstance(e, (int, float, np.floating, np.integer)) or not (
                math.isfinite(float(e)) and float(e) > 0):
            raise UserError(f"eps must be a positive number, got {e!r}")
        out.append(float(e))
    if not out:
        raise UserError("eps needs at least one positive number")
    return out


def check_marks(marks: Iterable, budget: int | None) -> list[int]:
    """Evaluation marks: integers >= 1, none past the evaluation budget (a UserError otherwise)."""
    out = []
    for m in marks:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise UserError(f"a regret mark must be a number of evaluations >= 1, got {m!r}")
        if budget is not None and m > budget:
            raise UserError(f"regret mark {m} does not exist in a run of budget {budget} evaluations")
        out.append(int(m))
    return sorted(set(out))


def label(x: float) -> str:
    """A mark or eps as it appears in a column name (`0.2`, `100`)."""
    return f"{x:g}"


@dataclass(frozen=True)
class Step:
    """One paid evaluation as regret needs it."""

    number: int  # 1, 2, ... over paid evaluations of every fidelity
    ordinal: int
    full: bool  # at the full fidelity (only those can become the incumbent)
    value: float  # the utility the search observed (higher is better)
    gpu_hours: float  # cumulative, including this one (NaN on a space priced in evaluations)


def curve(steps: Sequence[Step], ref: Reference) -> list[dict]:
    """Per step: the incumbent's ordinal (-1 before any full-fidelity result), its regret and test
    regret (NaN before), and whether an element within each eps, or among the top k, has been evaluated."""
    out, best, best_value = [], -1, -math.inf
    seen_within = [False] * len(ref.eps)
    seen_top = False
    for s in steps:
        if s.full:
            r = float(ref.regret[s.ordinal])
            for i, e in enumerate(ref.eps):
                seen_within[i] = seen_within[i] or r <= e + 1e-9
            seen_top = seen_top or s.ordinal in ref.top
            if s.value > best_value:
                best, best_value = s.ordinal, s.value
        out.append({
            "eval": s.number, "incumbent": best,
            "regret": float(ref.regret[best]) if best >= 0 else math.nan,
            "test_regret": float(ref.test_regret[best]) if best >= 0 else math.nan,
            "hit": tuple(seen_within), "top": seen_top, "gpu_hours": s.gpu_hours,
        })
    return out


def _first(points: list[dict], ok) -> float:
    return next((float(p["eval"]) for p in points if ok(p)), math.nan)


def summary(steps: Sequence[Step], ref: Reference, budget: int | None, marks: Sequence[int] = EVAL_MARKS) -> dict:
    """The run row's regret columns (see the module docstring); `budget`: the run's evaluation budget
    (None: the evaluations it made) fixes the area's x range and which marks exist."""
    points = curve(steps, ref)
    n = len(points)
    horizon = budget if budget is not None else n
    row: dict = {}
    last = points[-1] if points else None
    row["final_regret"] = last["regret"] if last else math.nan
    row["final_test_regret"] = last["test_regret"] if last else math.nan
    for m in marks:
        if m > horizon:
            continue
        # a run that stopped early keeps its last incumbent
        p = points[min(m, n) - 1] if n else None
        row[f"regret_at_{label(m)}"] = p["regret"] if p else math.nan
        row[f"test_regret_at_{label(m)}"] = p["test_regret"] if p else math.nan
    for h in ref.hour_marks:
        before = [p for p in points if p["gpu_hours"] <= h]
        p = before[-1] if before else None
        row[f"regret_at_{label(h)}h"] = p["regret"] if p and not math.isnan(p["regret"]) else math.nan
        row[f"test_regret_at_{label(h)}h"] = p["test_regret"] if p and not math.isnan(p["regret"]) else math.nan
    scale = ref.median_regret if ref.median_regret > 0 else 1.0
    terms = [min(p["regret"] / scale, 1.0) if not math.isnan(p["regret"]) else 1.0 for p in points[:horizon]]
    terms += [terms[-1] if terms else 1.0] * (horizon - len(terms))  # stopped early: its last incumbent stands
    row["regret_auc"] = float(np.mean(terms)) if terms else math.nan
    for i, e in enumerate(ref.eps):
        row[f"evals_to_hit_{label(e)}"] = _first(points, lambda p, i=i: p["hit"][i])
        row[f"evals_to_identify_{label(e)}"] = _first(points, lambda p, e=e: p["regret"] <= e + 1e-9)
    row[f"evals_to_top{TOP_K}"] = _first(points, lambda p: p["top"])
    row["regret_eps"] = ";".join(label(e) for e in ref.eps)
    return row


def trace_columns(steps: Sequence[Step], ref: Reference) -> list[dict]:
    """Per step: `regret` and `test_regret` of the incumbent (NaN before any full-fidelity result)."""
    return [{"regret": p["regret"], "test_regret": p["test_regret"]} for p in curve(steps, ref)]


def of_ledger(oracle, bm, budget: int | None, marks: Sequence[int] | None = None, eps: Sequence[float] | None = None,
              hour_marks: Sequence[float] | None = None) -> tuple[dict, list[dict]]:
    """(run-row columns, one dict of trace columns per ledger entry) of a finished run whose oracle
    (`loop.oracle.Oracle`) kept the ledger; `bm` is its benchmark. Marks default to `EVAL_MARKS`
    within the budget; eps and GPU-hour marks to the space's."""
    ref = _reference_cached(bm, oracle.dataset, oracle.metric, oracle.report_metric,
                            None if eps is None else tuple(eps), None if hour_marks is None else tuple(hour_marks))
    hours = oracle.cost_unit == "seconds"
    steps = [Step(e.number, oracle.ordinal_of(e.cell), e.fidelity == FULL_FIDELITY, e.value,
                  e.gpu_seconds / 3600.0 if hours else math.nan) for e in oracle.ledger]
    marks = EVAL_MARKS if marks is None else marks
    if budget is not None:
        marks = [m for m in marks if m <= budget]
    return summary(steps, ref, budget, marks), trace_columns(steps, ref)


_REFERENCES: dict[tuple, tuple] = {}


def _reference_cached(bm, dataset, metric, report, eps, hour_marks) -> Reference:
    """`reference`, kept per benchmark object and settings (a grid worker runs many cells of one dataset)."""
    key = (id(bm), dataset, metric, report, eps, hour_marks)
    found = _REFERENCES.get(key)
    if found is not None and found[0] is bm:
        return found[1]
    if len(_REFERENCES) > 32:
        _REFERENCES.clear()
    ref = reference(bm, dataset, metric, report, eps, hour_marks)
    _REFERENCES[key] = (bm, ref)
    return ref


def ordinals_of_index(bm, index: Sequence[int]) -> np.ndarray:
    """Row `index` values of rows and traces -> ordinals (NB201 rows name cells by the official index)."""
    index = np.asarray(index, dtype=np.int64)
    order = getattr(bm, "_order", None) if bm.name == "nb201" else None
    if order is None:
        return index
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    return inverse[index]


def of_trace(trace: Sequence[dict], bm, budget: int | None, marks: Sequence[int] | None = None,
             eps: Sequence[float] | None = None, hour_marks: Sequence[float] | None = None) -> tuple[dict, list[dict]]:
    """`of_ledger` from a run's trace rows (`index`, `fidelity`, `value` in the metric's units,
    `gpu_hours`, `dataset`, `metric`, `report_metric`, `direction`): the same columns, for rows
    written before regret was recorded."""
    from .protocol import FULL

    if not trace:
        raise UserError("a trace without rows has no regret")
    first = trace[0]
    dataset, metric = bm.canonical_dataset(first["dataset"]), first["metric"]
    report = first.get("report_metric") or ("test" if "test" in bm.metrics else bm.default_metric)
    ref = _reference_cached(bm, dataset, metric, report, None if eps is None else tuple(eps),
                            None if hour_marks is None else tuple(hour_marks))
    sign = 1.0 if bm.metric(metric).direction == "max" else -1.0
    ordinals = ordinals_of_index(bm, [int(r["index"]) for r in trace])
    steps = [Step(int(r["eval"]), int(o), int(r["fidelity"]) == FULL, sign * float(r["value"]),
                  float(r.get("gpu_hours", math.nan))) for r, o in zip(trace, ordinals)]
    marks = EVAL_MARKS if marks is None else marks
    if budget is not None:
        marks = [m for m in marks if m <= budget]
    return summary(steps, ref, budget, marks), trace_columns(steps, ref)
