"""What a strategy asks a predictor through: scores for cells, or None when it has nothing to say.

The predictor mode (what the predictor is trained on, and when) lives here so that every strategy
works unchanged with a frozen pretrained predictor, one refit on its own evaluations, both, or none.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from . import space
from .errors import UserError
from .oracle import Oracle

_ALL = space.all_cells()
MODES: tuple[str, ...] = ("pretrained", "online", "pretrained+online")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"unknown predictor mode {mode!r}; known: {', '.join(MODES)}")
    return mode


class Surrogate:
    """A predictor behind the mode it is trained in.

    - `pretrained`: fit once on the pretraining cells (source dataset), then frozen.
    - `online`: fit only on the cells this search evaluated, refit as they arrive; abstains (scores
      None, so strategies fall back to random choices) until `min_fit` cells are known.
    - `pretrained+online`: pretraining cells plus this search's evaluations, refit as they arrive.
      When the source dataset differs from the searched one, the labels live on different scales
      (CIFAR-10 ~0.9, ImageNet16-120 ~0.4); the search's labels are mapped onto the source scale by
      the least-squares line between them and the frozen pretrained predictions, the only bridge
      between the two scales that needs no extra evaluation.

    `make_predictor=None` is the null surrogate of a search without a predictor: it never scores.
    Refits happen in `update` once `refit_every` new evaluations have arrived since the last fit.
    `frozen=(model, fit_seconds)` hands in a predictor already fitted on exactly these pretraining
    cells (the same seed fits the same model), so one pretraining serves several searches.
    """

    def __init__(self, make_predictor: Callable[[], Any] | None, mode: str = "pretrained",
                 pretrain_cells: np.ndarray | None = None, pretrain_y: np.ndarray | None = None,
                 same_dataset: bool = True, min_fit: int = 5, refit_every: int = 1,
                 frozen: tuple[Any, float] | None = None):
        check_mode(mode)
        if min_fit < 2:
            raise UserError(f"min_fit must be >= 2 (a predictor needs two cells to rank), got {min_fit}")
        if refit_every < 1:
            raise UserError(f"refit_every must be >= 1, got {refit_every}")
        self.mode = mode
        self.same_dataset = same_dataset
        self.min_fit = min_fit
        self.refit_every = refit_every
        self.fit_seconds = 0.0
        self.n_fits = 0
        self._make = make_predictor
        self._frozen: Any = None  # the pretrained predictor
        self._online: Any = None  # the predictor refit on evaluations (online modes)
        self._fitted_at = -1  # oracle.n_evals at the last online fit
        self._pre_cells = None if pretrain_cells is None else space.as_array(pretrain_cells)
        self._pre_y = None if pretrain_y is None else np.asarray(pretrain_y, dtype=np.float32)
        # Scores per cell ordinal for the current model: a frozen predictor then scores each cell once
        # however many rounds ask, which keeps pool="all" cheap for slow predictors.
        self._cache = np.full(space.N_CELLS, np.nan, dtype=np.float32)
        self._std_cache = np.full(space.N_CELLS, np.nan, dtype=np.float32)
        if make_predictor is not None and mode != "online":
            if self._pre_cells is None or self._pre_y is None or len(self._pre_cells) < min_fit:
                raise UserError(f"mode {mode!r} needs at least {min_fit} pretraining cells with labels")
            if len(self._pre_cells) != len(self._pre_y):
                raise UserError("pretraining cells and labels differ in length")
            if frozen is None:
                self._frozen = self._fit(self._pre_cells, self._pre_y)
            else:
                self._frozen, seconds = frozen
                self.fit_seconds += seconds
                self.n_fits += 1

    @property
    def active(self) -> bool:
        """True when there is a predictor at all (it may still abstain before `min_fit` cells)."""
        return self._make is not None

    @property
    def has_std(self) -> bool:
        """Whether the predictor offers `predict_std` (strategies that need uncertainty check this)."""
        if self._make is None:
            return False
        model = self._current() or self._make()
        return callable(getattr(model, "predict_std", None))

    def _fit(self, cells: np.ndarray, y: np.ndarray) -> Any:
        model = self._make()
        start = time.perf_counter()
        model.fit(cells, np.asarray(y, dtype=np.float32))
        self.fit_seconds += time.perf_counter() - start
        self.n_fits += 1
        return model

    def _current(self) -> Any:
        return self._online if self._online is not None else self._frozen

    def _search_labels(self, cells: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The search's labels on the pretraining scale (None when no sane mapping exists yet)."""
        if self.same_dataset:
            return y
        p = self._frozen.predict(cells).astype(np.float64)
        if len(y) < self.min_fit or np.ptp(p) == 0:
            return None
        slope, intercept = np.polyfit(p, y.astype(np.float64), 1)
        if slope <= 0:
            return None
        return ((y - intercept) / slope).astype(np.float32)

    def update(self, oracle: Oracle) -> None:
        """Refit from the oracle's history as the mode says; a no-op for pretrained or null."""
        if self._make is None or self.mode == "pretrained":
            return
        n = oracle.n_evals
        if n < self.min_fit or (self._fitted_at >= 0 and n - self._fitted_at < self.refit_every):
            return
        history = oracle.history
        cells = space.as_array([e.cell for e in history])
        y = np.array([e.value for e in history], dtype=np.float32)
        if self.mode == "pretrained+online":
            y = self._search_labels(cells, y)
            if y is None:
                return
            seen = {space.to_ordinal(c) for c in cells}
            keep = np.array([space.to_ordinal(c) not in seen for c in self._pre_cells], dtype=bool)
            cells = np.concatenate([self._pre_cells[keep], cells])
            y = np.concatenate([self._pre_y[keep], y])
        self._online = self._fit(cells, y)
        self._fitted_at = n
        self._cache.fill(np.nan)
        self._std_cache.fill(np.nan)

    def score(self, cells) -> np.ndarray | None:
        """Predicted search metric (higher is better), or None when the surrogate abstains."""
        model = self._current()
        if model is None:
            return None
        return _cached(self._cache, model.predict, cells)

    def std(self, cells) -> np.ndarray | None:
        """Predictive standard deviation, or None (abstaining, or a predictor without one)."""
        model = self._current()
        if model is None or not callable(getattr(model, "predict_std", None)):
            return None
        return _cached(self._std_cache, model.predict_std, cells)


def _cached(cache: np.ndarray, predict: Callable[[np.ndarray], np.ndarray], cells) -> np.ndarray:
    """`predict(cells)` through a per-ordinal cache: only cells never asked before are predicted."""
    ordinals = space.ordinals(cells)
    missing = np.unique(ordinals[np.isnan(cache[ordinals])])
    if len(missing):
        cache[missing] = np.asarray(predict(_ALL[missing]), dtype=np.float32)
    return cache[ordinals].copy()
