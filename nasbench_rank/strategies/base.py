"""What the built-in strategies share: drawing unevaluated elements, picking by score, checking settings.

Every helper reads only the `SearchView` a strategy is given (the space through `view.space`), so the
strategies run on every space. "Cell" below means an element of the searched space.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from ..errors import UserError
from ..loop.protocol import FULL
from ..loop.view import SearchView, SpaceView


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


def all_elements(view: SearchView | SpaceView) -> np.ndarray:
    """Every element of the searched space in ordinal order (read-only, shared per space)."""
    space = view.space if isinstance(view, SearchView) else view
    return _all_elements(space)


def _all_elements(space: SpaceView) -> np.ndarray:
    key = (space.name, space.size, space.width)
    cached = _ELEMENTS.get(key)
    if cached is None:
        cached = space.all_elements()
        cached.flags.writeable = False
        _ELEMENTS[key] = cached
    return cached


_ELEMENTS: dict[tuple, np.ndarray] = {}


def capped(view: SearchView, cells) -> list:
    """`cells` cut to the evaluations left in the budget (all of them without an evaluation budget)."""
    cells = list(cells)
    return cells if view.evals_left is None else cells[: max(view.evals_left, 0)]


def free_mask(view: SearchView, exclude: Iterable[Sequence[int]] = (), blocked: np.ndarray | None = None) -> np.ndarray:
    """(size,) bool over ordinals: elements neither paid for at the full fidelity, nor pending, nor in
    `exclude`, nor `blocked` (a bool mask over ordinals)."""
    free = ~view.evaluated_mask(FULL)
    if blocked is not None:
        free &= ~blocked
    taken = [r.cell for r in view.pending if r.fidelity == FULL] + [tuple(c) for c in exclude]
    if taken:
        free[view.space.ordinals(taken)] = False
    return free


def unevaluated(view: SearchView, rng: np.random.Generator, n: int | str, exclude=(), blocked=None) -> np.ndarray:
    """`n` distinct free elements (see `free_mask`), drawn uniformly ('all': every one, shuffled)."""
    free = np.flatnonzero(free_mask(view, exclude, blocked))
    if n != "all" and int(n) < len(free):
        free = rng.choice(free, size=int(n), replace=False)
    else:
        free = rng.permutation(free)
    return all_elements(view)[free]


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
    """The free neighbours of `cell` (`view.space.neighbours`: on NAS-Bench-201 the 24 one-edge
    mutations), as an (m, width) array."""
    free = free_mask(view, exclude)
    near = view.space.neighbours(cell)
    if not near:
        return np.zeros((0, view.space.width), dtype=np.int64)
    arr = np.asarray(near, dtype=np.int64)
    return arr[free[view.space.ordinals(arr)]]


def functional_classes(view: SearchView | SpaceView) -> np.ndarray:
    """(size,) int: the equivalence class of each element (elements computing the same function share
    it); every element is its own class in a space without an equivalence."""
    space = view.space if isinstance(view, SearchView) else view
    return space.classes()[0]


def twins_of_known(view: SearchView, extra: Iterable[Sequence[int]] = ()) -> np.ndarray:
    """(size,) bool: elements whose equivalence class already has a member paid for at the full
    fidelity, pending, or in `extra`. Without an equivalence: exactly those elements themselves (which
    the strategies skip anyway), so skipping twins changes nothing."""
    known = np.flatnonzero(view.evaluated_mask(FULL))
    cells = [r.cell for r in view.pending if r.fidelity == FULL] + [tuple(c) for c in extra]
    if cells:
        known = np.concatenate([known, view.space.ordinals(cells)])
    if not view.space.has_equivalence:
        out = np.zeros(view.space.size, dtype=bool)
        out[known] = True
        return out
    classes = functional_classes(view)
    return np.isin(classes, classes[known])


def as_cells(cells) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in c) for c in cells]


def random_start(view: SearchView, n: int | str) -> list[tuple[int, ...]]:
    """The opening batch of a strategy: `n` free elements drawn uniformly with the view's rng, cut to
    the budget."""
    return capped(view, as_cells(unevaluated(view, view.rng, n)))


class RandomOpening:
    """For a strategy with an ``init`` setting: its first `ask` opens with `random_start(view, init)`
    (`opening` returns that batch once, then an empty list)."""

    _started = False

    def opening(self, view: SearchView) -> list[tuple[int, ...]]:
        if self._started:
            return []
        self._started = True
        return random_start(view, self.init)
