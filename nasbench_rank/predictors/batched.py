"""Fitting several predictors at once, and a fit's progress bar.

The capability: a predictor class may define a classmethod

    fit_many(estimators, X_list, y_list) -> list of the estimators, fitted

that fits estimator i on (X_list[i], y_list[i]) exactly as `estimators[i].fit(X_list[i], y_list[i])`
would (within the tolerance its documentation states), but in one pass where it can: the seeds of a
grid, the members of an ensemble or bootstrap replicas train as one batched computation. The
estimators are instances of that class and may differ in any setting; the class groups those it can
train together and fits the rest one by one. `fit_many` below uses the capability when every
estimator's class offers it, else calls `fit` on each.

`fit_progress` is the bar a long fit shows on stderr (tqdm, as the grid's): it appears only after
two seconds, only on a terminal, and never where `PROGRESS_ENV` is "0" (the grid sets it for the
cells it runs, whose progress is its own bar of cells).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

__all__ = ["PROGRESS_ENV", "can_fit_many", "fit_many", "fit_progress"]

#: Set to "0" to silence fit progress bars (the grid does, for the cells it runs).
PROGRESS_ENV = "NASBENCH_RANK_FIT_PROGRESS"
#: Seconds a fit runs before its bar appears.
PROGRESS_DELAY = 2.0


def can_fit_many(estimators: Sequence[Any]) -> bool:
    """Whether the estimators are all of one class that declares `fit_many`."""
    if not estimators:
        return False
    cls = type(estimators[0])
    return all(type(e) is cls for e in estimators) and callable(getattr(cls, "fit_many", None))


def fit_many(estimators: Sequence[Any], X_list: Sequence[Any], y_list: Sequence[Any]) -> list[Any]:
    """Fit estimator i on (X_list[i], y_list[i]); together when their class offers `fit_many`."""
    estimators = list(estimators)
    if len(X_list) != len(estimators) or len(y_list) != len(estimators):
        raise ValueError(f"fit_many needs one training set per estimator, got {len(estimators)} estimators, "
                         f"{len(X_list)} cell sets and {len(y_list)} label sets")
    if len(estimators) > 1 and can_fit_many(estimators):
        return list(type(estimators[0]).fit_many(estimators, X_list, y_list))
    return [e.fit(x, y) for e, x, y in zip(estimators, X_list, y_list)]


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


@contextmanager
def fit_progress(total: int, desc: str = "fit", unit: str = "epoch") -> Iterator[Any]:
    """A tqdm bar of `total` units on stderr, shown after `PROGRESS_DELAY` seconds on a terminal only;
    silent where `PROGRESS_ENV` is "0". Yields an object with `update(n)`."""
    stream = sys.stderr
    if os.environ.get(PROGRESS_ENV) == "0" or not getattr(stream, "isatty", lambda: False)() or total <= 0:
        yield _Silent()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=stream, delay=PROGRESS_DELAY, leave=False,
               dynamic_ncols=True, mininterval=0.5)
    try:
        yield bar
    finally:
        bar.close()
