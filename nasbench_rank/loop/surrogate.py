"""The predictor during a search: the framework fits it (per mode and schedule), strategies only ask it.

Two objects, so that a strategy never holds more than it may use:
- `Surrogate` (framework side) holds the pretraining data and the search's observations and fits the
  predictor in its mode on the run's schedule;
- `Scorer` (the strategy's side, reached through `SearchView.score` / `std`) holds only the fitted
  predictor and a per-cell cache of its predictions, and checks that every prediction is finite.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ..errors import UserError, plugin_call
from .protocol import PredictionError

MODES: tuple[str, ...] = ("pretrained", "online", "pretrained+online")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"unknown predictor mode {mode!r}; known: {', '.join(MODES)}")
    return mode


class Scorer:
    """Predictions of the current model for the cells a strategy asks about; None while there is no
    model (no predictor, or an online one still waiting for `min_fit` observations)."""

    def __init__(self, name: str, has_std: bool, space: Any = None):
        from ..spaces import default_space

        self.name = name
        self.has_std = has_std
        self.model: Any = None
        self._space = default_space() if space is None else space
        self._cache = np.full(self._space.size, np.nan, dtype=np.float32)
        self._std_cache = np.full(self._space.size, np.nan, dtype=np.float32)

    def reset(self, model: Any) -> None:
        self.model = model
        self._cache.fill(np.nan)
        self._std_cache.fill(np.nan)

    def score(self, cells) -> np.ndarray | None:
        if self.model is None:
            return None
        return self._cached(self._cache, self.model.predict, cells, "predict")

    def std(self, cells) -> np.ndarray | None:
        if self.model is None:
            return None
        return self._cached(self._std_cache, self.model.predict_std, cells, "predict_std")

    def _cached(self, cache: np.ndarray, predict: Callable, cells, what: str) -> np.ndarray:
        """`predict(cells)` through a per-ordinal cache: only cells never asked before are predicted."""
        ordinals = self._space.ordinals(cells)
        missing = np.unique(ordinals[np.isnan(cache[ordinals])])
        if len(missing):
            with plugin_call("predictor", self.name, what):
                out = np.asarray(predict(self._space.elements(missing)), dtype=np.float32)
            if out.shape != (len(missing),):
                raise PredictionError(f"predictor {self.name!r}: {what} returned an array of shape {out.shape} for {len(missing)} cells, expected ({len(missing)},)")
            if not np.all(np.isfinite(out)):
                bad = int((~np.isfinite(out)).sum())
                raise PredictionError(f"predictor {self.name!r}: {what} returned {bad} non-finite values of "
                                      f"{len(missing)}; the search stops")
            cache[missing] = out
        return cache[ordinals].copy()


class Surrogate:
    """A predictor behind the mode it is trained in, fitted on the run's schedule.

    - `pretrained`: fit once on the pretraining cells (source dataset), then frozen.
    - `online`: fit only on this search's 200-epoch observations; no model (scores None, strategies
      fall back to random choices) until `min_fit` of them are known.
    - `pretrained+online`: pretraining cells plus this search's observations. When the source
      dataset differs from the searched one, the search's labels are mapped onto the source scale by
      the least-squares line between them and the frozen pretrained predictions.

    Schedule (`update` is called by the runner before every `ask`): a full refit (a fresh predictor
    from the factory) when `refit_every` observations have arrived since the last one; between full
    refits, when `warm_every` > 0 and the predictor has `partial_fit(X, y)`, a warm start (continue
    training the current model on the whole grown set) every `warm_every` new observations.
    12-epoch observations are not used as labels: only 200-epoch results train the predictor.
    `make_predictor=None` is the null surrogate of a search without a predictor.
    """

    def __init__(self, make_predictor: Callable[[], Any] | None, mode: str = "pretrained",
                 pretrain_cells: np.ndarray | None = None, pretrain_y: np.ndarray | None = None,
                 same_dataset: bool = True, min_fit: int = 5, refit_every: int = 1, warm_every: int = 0,
                 frozen: tuple[Any, float] | None = None, name: str = "predictor", space: Any = None):
        from ..spaces import default_space

        check_mode(mode)
        self.space = default_space() if space is None else space
        if min_fit < 2:
            raise UserError(f"min_fit must be >= 2 (a predictor needs two cells to rank), got {min_fit}")
        if refit_every < 1:
            raise UserError(f"refit_every must be >= 1, got {refit_every}")
        if warm_every < 0:
            raise UserError(f"warm_every must be >= 0 (0: no warm starts), got {warm_every}")
        self.mode = mode
        self.same_dataset = same_dataset
        self.min_fit = min_fit
        self.refit_every = refit_every
        self.warm_every = warm_every
        self.name = name
        self.fit_seconds = 0.0
        self.n_fits = 0
        self.n_warm = 0
        self._make = make_predictor
        prototype = make_predictor() if make_predictor is not None else None
        self.has_partial_fit = callable(getattr(prototype, "partial_fit", None))
        self.scorer = Scorer(name, callable(getattr(prototype, "predict_std", None)), self.space)
        self._frozen: Any = None
        self._fitted_at = -1  # observations at the last full refit
        self._updated_at = -1  # observations at the last refit or warm start
        self._pre_cells = None if pretrain_cells is None else np.asarray(pretrain_cells, dtype=np.int64)
        self._pre_y = None if pretrain_y is None else np.asarray(pretrain_y, dtype=np.float32)
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
            self.scorer.reset(self._frozen)

    @property
    def active(self) -> bool:
        return self._make is not None

    def _fit(self, cells: np.ndarray, y: np.ndarray) -> Any:
        model = self._make()
        start = time.perf_counter()
        with plugin_call("predictor", self.name, "fit"):
            model.fit(cells, np.asarray(y, dtype=np.float32))
        self.fit_seconds += time.perf_counter() - start
        self.n_fits += 1
        return model

    def _search_labels(self, cells: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """The search's labels on the pretraining scale (None when no sane mapping exists yet)."""
        if self.same_dataset:
            return y
        with plugin_call("predictor", self.name, "predict"):
            p = np.asarray(self._frozen.predict(cells), dtype=np.float64)
        if len(y) < self.min_fit or np.ptp(p) == 0:
            return None
        slope, intercept = np.polyfit(p, y.astype(np.float64), 1)
        if slope <= 0:
            return None
        return ((y - intercept) / slope).astype(np.float32)

    def update(self, cells: np.ndarray, y: np.ndarray) -> None:
        """Apply the schedule to the search's 200-epoch observations so far (cells, values)."""
        if self._make is None or self.mode == "pretrained":
            return
        n = len(y)
        if n < self.min_fit:
            return
        full = self._fitted_at < 0 or n - self._fitted_at >= self.refit_every
        warm = (not full and self.warm_every > 0 and self.has_partial_fit
                and n - self._updated_at >= self.warm_every)
        if not (full or warm):
            return
        cells = self.space.as_array(cells)
        y = np.asarray(y, dtype=np.float32)
        if self.mode == "pretrained+online":
            y = self._search_labels(cells, y)
            if y is None:
                return
            seen = set(map(tuple, cells.tolist()))
            keep = np.array([tuple(c) not in seen for c in self._pre_cells.tolist()], dtype=bool)
            cells = np.concatenate([self._pre_cells[keep], cells])
            y = np.concatenate([self._pre_y[keep], y])
        if full:
            model = self._fit(cells, y)
            self._fitted_at = n
        else:
            model = self.scorer.model
            start = time.perf_counter()
            with plugin_call("predictor", self.name, "partial_fit"):
                model.partial_fit(cells, y)
            self.fit_seconds += time.perf_counter() - start
            self.n_warm += 1
        self._updated_at = n
        self.scorer.reset(model)
