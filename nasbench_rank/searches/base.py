"""What the strategies share: drawing unevaluated cells, picking by score, checking settings."""

from __future__ import annotations

import numpy as np

from .. import space
from ..errors import UserError
from ..oracle import Oracle
from ..surrogate import Surrogate

ALL_CELLS = space.all_cells()


def check_pool(pool: int | str) -> int | str:
    if pool == "all":
        return pool
    try:
        size = int(pool)
    except (TypeError, ValueError):
        raise UserError(f"pool must be a positive number of cells or 'all', got {pool!r}") from None
    if size < 1:
        raise UserError(f"pool must be a positive number of cells or 'all', got {pool!r}")
    return size


def check_positive(**settings: int) -> None:
    for name, value in settings.items():
        if int(value) < 1:
            raise UserError(f"{name} must be >= 1, got {value}")


def unevaluated(oracle: Oracle, rng: np.random.Generator, n: int | str) -> np.ndarray:
    """`n` distinct cells the oracle has not paid for, drawn uniformly ('all': every one, shuffled)."""
    free = np.flatnonzero(~oracle.evaluated_mask())
    if n != "all" and int(n) < len(free):
        free = rng.choice(free, size=int(n), replace=False)
    else:
        free = rng.permutation(free)
    return ALL_CELLS[free]


def top(cells: np.ndarray, scores: np.ndarray | None, k: int, rng: np.random.Generator) -> np.ndarray:
    """The `k` best-scored cells (random ones when there are no scores). Ties keep the incoming
    order, which callers shuffle, so that equal scores never favour low ordinals."""
    if len(cells) == 0:
        return cells
    if scores is None:
        return cells[rng.permutation(len(cells))[:k]]
    order = np.argsort(-np.asarray(scores), kind="stable")
    return cells[order[:k]]


def neighbours(cell, oracle: Oracle) -> np.ndarray:
    """The unevaluated 1-edge mutations of `cell`, as an (m, 6) array (m <= 24)."""
    out = [m for m in space.mutations(cell) if not oracle.is_evaluated(m)]
    return space.as_array(out) if out else np.zeros((0, space.N_EDGES), dtype=np.int64)


def evaluate_all(oracle: Oracle, cells) -> None:
    for cell in cells:
        oracle.evaluate(cell)


def require_std(surrogate: Surrogate, strategy: str) -> None:
    if surrogate.active and not surrogate.has_std:
        raise UserError(f"search {strategy!r} needs a predictor with predict_std (an ensemble, e.g. 'xgb-ensemble')")
