"""Upper-confidence-bound and Thompson selection: spend part of the budget where the predictor is unsure."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..loop.view import SearchView
from .topk import TopKSearch


class UCBSearch(TopKSearch):
    """Like `topk`, but candidates are ranked by an acquisition over the predictor's mean and std:
    `acquisition="ucb"`: mean + beta * std; `"thompson"`: one draw from N(mean, std) per candidate.
    Needs a predictor with `predict_std` (an ensemble); without scores it picks at random."""

    needs_std = True

    def __init__(self, init: int = 10, pool: int | str = 100, k: int = 5, beta: float = 1.0, acquisition: str = "ucb"):
        super().__init__(init=init, pool=pool, k=k)
        if acquisition not in ("ucb", "thompson"):
            raise UserError(f"acquisition must be 'ucb' or 'thompson', got {acquisition!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not np.isfinite(beta):
            raise UserError(f"beta must be a number, got {beta!r}")
        self.beta = beta
        self.acquisition = acquisition

    def _rank(self, view: SearchView, cells: np.ndarray) -> np.ndarray | None:
        mean = view.score(cells)
        std = view.std(cells) if view.has_std else None
        if mean is None or std is None:
            return None
        if self.acquisition == "thompson":
            return mean + std * view.rng.standard_normal(len(cells)).astype(np.float32)
        return mean + float(self.beta) * std
