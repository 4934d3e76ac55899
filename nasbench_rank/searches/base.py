"""What the built-in strategies share: drawing unevaluated cells, picking by score, checking settings.

Every helper reads only the `SearchView` a strategy is given.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from .. import space
from ..errors import UserError
from ..loop.protocol import FULL
from ..loop.view import SearchView

ALL_CELLS = space.all_cells()


def check_pool(pool: int | str) -> int | str:
    if pool == "all":
        return pool
    if isinstance(pool, bool):
        raise UserError(f"pool must be a positive number of cells or 'all', got {pool!r}")
    try:
        size = int(pool)
    except (TypeError, ValueError):
        raise UserError(f"pool must be a positive number of cells or 'all', got {pool!r}") from None
    if size < 1 or size != pool and not isinstance(pool, str):
        raise UserError(f"pool must be a positive number of cells or 'all', got {pool!r}")
    return size


def check_int(minimum: int = 1, **settings) -> None:
    """Each setting must be an integer >= `minimum` (a UserError naming it otherwise)."""
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_positive(**settings) -> None:
    check_int(1, **settings)


def capped(view: SearchView, cells) -> list:
    """`cells` cut to the evaluations left in the budget (all of them without an evaluation budget)."""
    cells = list(cells)
    return cells if view.evals_left is None else cells[: max(view.evals_left, 0)]


def free_mask(view: SearchView, exclude: Iterable[Sequence[int]] = (), blocked: np.ndarray | None = None) -> np.ndarray:
    """(n_cells,) bool over ordinals: cells neither paid for at 200 epochs, nor pending, nor in `exclude`,
    nor `blocked` (a bool mask over ordinals)."""
    free = ~view.evaluated_mask(FULL)
    if blocked is not None:
        free &= ~blocked
    taken = [r.cell for r in view.pending if r.fidelity == FULL] + [tuple(c) for c in exclude]
    if taken:
        free[space.ordinals(taken)] = False
    return free


def unevaluated(view: SearchView, rng: np.random.Generator, n: int | str, exclude=(), blocked=None) -> np.ndarray:
    """`n` distinct free cells (see `free_mask`), drawn uniformly ('all': every one, shuffled)."""
    free = np.flatnonzero(free_mask(view, exclude, blocked))
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


def neighbours(cell, view: SearchView, exclude=()) -> np.ndarray:
    """The free 1-edge mutations of `cell`, as an (m, 6) array (m <= 24)."""
    free = free_mask(view, exclude)
    out = [m for m in space.mutations(cell) if free[space.to_ordinal(m)]]
    return space.as_array(out) if out else np.zeros((0, space.N_EDGES), dtype=np.int64)


@lru_cache(maxsize=1)
def functional_classes() -> np.ndarray:
    """(n_cells,) int: the functional class of each cell (cells computing the same function share it)."""
    keys = [space.functional_key(c) for c in ALL_CELLS]
    ids = {k: i for i, k in enumerate(sorted(set(keys)))}
    out = np.array([ids[k] for k in keys], dtype=np.int64)
    out.flags.writeable = False
    return out


def twins_of_known(view: SearchView, extra: Iterable[Sequence[int]] = ()) -> np.ndarray:
    """(n_cells,) bool: cells whose functional class already has a member paid for at 200 epochs,
    pending, or in `extra`."""
    classes = functional_classes()
    known = np.flatnonzero(view.evaluated_mask(FULL))
    cells = [r.cell for r in view.pending if r.fidelity == FULL] + [tuple(c) for c in extra]
    if cells:
        known = np.concatenate([known, space.ordinals(cells)])
    return np.isin(classes, classes[known])


def as_cells(cells) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in c) for c in cells]


def random_start(view: SearchView, n: int | str) -> list[tuple[int, ...]]:
    """The opening batch of a strategy: `n` free cells drawn uniformly with the view's rng, cut to the
    budget."""
    return capped(view, as_cells(unevaluated(view, view.rng, n)))
