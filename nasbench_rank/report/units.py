"""What a row's numbers are, and how to print them: the metric of the row's space.

A row names its `space` (none: NAS-Bench-201) and its metrics (`metric`, `score_metric`,
`report_metric`); the space's `Metric` says the rest: its name in tables and plots, its unit, its
direction, whether its utilities are taken on the logarithm. Values are read where they are:

- a search row's `best_test` / `best_valid`, and the optimum, are in the metric's own units (NB201
  accuracy in %, NAS-Bench-Graph performance as a fraction, FCNet validation MSE);
- a predictor's MAE is in utility units (a percentage as a fraction, so NB201 prints it x100 as
  % points; FCNet in -log MSE; NAS-Bench-Graph in the fraction itself);
- regret is a difference of the search metric (NB201: % points; FCNet: natural-log units).

Numbers of a percentage print with two decimals; any other with three significant digits (3.10e-04,
0.835, 12.0), so a small MSE never prints as 0.00. The metric is read from the registered
benchmark's class, so no data is loaded; a space that is not installed prints its values plainly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DEFAULT_SPACE = "nb201"
MINUS = "\u2212"
#: A checksum (sha256 or a shorter hash of 32+ hex digits) inside a text.
CHECKSUM = re.compile(r"\b[0-9a-f]{32,}\b")


def shorten_checksums(text: Any, keep: int = 12) -> str:
    """`text` with every checksum cut to its first `keep` hex digits and an ellipsis: enough to tell two
    tables apart; the full value stays in the CSVs."""
    return CHECKSUM.sub(lambda m: m.group(0)[:keep] + "\u2026", str(text))


@dataclass(frozen=True)
class Scale:
    """How one metric of one space is labelled and printed."""

    name: str  # "test accuracy", "validation MSE", "test performance"
    unit: str = ""  # "%", "s", "" (a plain number or fraction)
    direction: str = "max"
    log: bool = False
    known: bool = True  # False: the space is not installed, its values print plainly

    @property
    def percent(self) -> bool:
        return self.unit == "%"

    @property
    def label(self) -> str:
        """The values' axis label: "test accuracy (%)", "validation MSE"."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def utility_factor(self) -> float:
        """From a utility difference (an MAE) to what is printed: a percentage's fraction x100."""
        return 100.0 if self.percent else 1.0

    @property
    def utility_unit(self) -> str:
        """The unit of an MAE or of a predictor's score as printed: "% points", "-log validation MSE"."""
        if self.percent:
            return "% points"
        if self.log:
            return f"{MINUS if self.direction == 'min' else ''}log {self.name}"
        if self.direction == "min":
            return f"{MINUS}{self.label}"
        return self.label

    @property
    def regret_unit(self) -> str:
        """The unit of a regret of this metric: "% points", "ln validation MSE", "test performance"."""
        if self.percent:
            return "% points"
        return f"ln {self.name}" if self.log else self.label

    def value(self, v: Any, ref: Any = None) -> str:
        """A value in the metric's units: two decimals for a percentage, else three significant digits
        (`ref`: the number whose magnitude sets the digits, so an interval prints like its centre)."""
        return f"{float(v):.2f}" if self.percent else significant(v, 3, ref)

    def utility(self, v: Any, ref: Any = None) -> str:
        """A utility difference (an MAE) in `utility_unit`."""
        if self.percent:
            return f"{100.0 * float(v):.2f}"
        return significant(v, 3, ref)


def significant(v: Any, digits: int = 3, ref: Any = None) -> str:
    """`v` with `digits` significant digits of `ref` (default `v` itself): fixed decimals between 1e-3
    and 1e6, scientific notation outside, "-" when not finite."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return "-"
    try:
        r = abs(float(ref)) if ref is not None else abs(v)
    except (TypeError, ValueError):
        r = abs(v)
    if not math.isfinite(r) or r == 0:
        r = abs(v)
    if r == 0:
        return f"{v:.{max(digits - 1, 0)}f}" if digits > 1 else "0"
    magnitude = math.floor(math.log10(r))
    if magnitude < -3 or magnitude >= 6:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{max(digits - 1 - magnitude, 0)}f}"


def _metrics_of(space: str) -> dict[str, Any] | None:
    """The `metrics` of a registered space's benchmark, from its class where the registry can name it
    (nothing loaded), else from the benchmark it builds; None when the space is not installed."""
    from ..plugins import get_plugins, lazy

    try:
        entry = get_plugins().spaces.get(space)
    except Exception:  # an unknown name: rows from a plugin that is not installed here
        return None
    factory = entry.factory
    try:
        target = factory.resolve() if isinstance(factory, lazy) else factory
        metrics = getattr(target, "metrics", None)
        if not isinstance(metrics, dict):
            metrics = getattr(entry.factory(), "metrics", None)
    except Exception:  # a missing extra or a failing plugin: labels fall back, the numbers stay
        return None
    return metrics if isinstance(metrics, dict) else None


@lru_cache(maxsize=None)
def scale_of(space: str | None, metric: str | None) -> Scale:
    """The `Scale` of `metric` of `space` (None or "": NAS-Bench-201; metric None: its `test`)."""
    space = str(space) if space not in (None, "") and not _nan(space) else DEFAULT_SPACE
    metric = str(metric) if metric not in (None, "") and not _nan(metric) else ""
    metrics = _metrics_of(space) or {}
    if not metric:
        metric = "test" if "test" in metrics else next(iter(metrics), "value")
    m = metrics.get(metric)
    if m is None or not hasattr(m, "direction"):
        return Scale(name=metric, known=False)
    label = getattr(m, "label", "") or m.name
    return Scale(name=label, unit=str(getattr(m, "unit", "") or ""), direction=m.direction,
                 log=bool(getattr(m, "log", False)))


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _get(row: Any, key: str) -> Any:
    try:
        v = row.get(key)
    except AttributeError:
        return None
    return None if v is None or _nan(v) or v == "" else v


def eval_scale(row: Any) -> Scale:
    """The scale of a predictor-quality row: the metric it was scored on."""
    return scale_of(_get(row, "space"), _get(row, "score_metric") or _get(row, "metric"))


def report_scale(row: Any) -> Scale:
    """The scale of a search row's `best_test` and optimum: its report metric."""
    return scale_of(_get(row, "space"), _get(row, "report_metric"))


def search_scale(row: Any) -> Scale:
    """The scale of a search row's search metric (`best_valid`, regret)."""
    return scale_of(_get(row, "space"), _get(row, "metric") or "valid")
