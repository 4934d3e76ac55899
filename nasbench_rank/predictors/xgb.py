"""Gradient-boosted trees on the one-hot encoding plus op counts (optionally path features), and the
structure-aware variant `xgb-struct`: the same trees given what ACT is given (the canonical form, on
NAS-Bench-201 dead edges shown as `none`; path features; training on and averaging over functionally
identical copies). Any space: see `features`."""

from __future__ import annotations

import numpy as np
import xgboost  # imported with the module, i.e. when the predictor is built: never inside a timed fit
from sklearn.base import BaseEstimator

from . import features
from ..errors import UserError

ENCODINGS = ("tabular", "structural")


class XGBPredictor(BaseEstimator):
    """XGBoost regressor (or pairwise ranker with ``objective="rank:pairwise"``).

    The ranker sees all training cells as one query. XGBoost's default pair selection ("topk") then
    only learns the order among the few best cells and ranks the rest poorly, so rank objectives
    sample ``pairs_per_sample`` pairs for every cell instead (``pair_method="mean"``).

    ``encoding="structural"`` reads `features.structural` (effective ops, paths); ``augment=
    "functional"`` trains on up to ``copies`` functional copies of each cell (weights summing to one
    per cell) and ``tta`` averages predictions over up to that many copies of each scored cell.

    ``space`` (None: NAS-Bench-201, a name, or a Space) is the space of the elements X given to `fit`
    and `predict`. Outside NAS-Bench-201 the tabular encoding is the space's one-hot (+ op counts
    where it has a DAG, see `features.tabular`), the structural one that of each element's canonical
    form with path features where the space has a DAG, and the functional copies are the members of
    an element's class in `space.classes()`: in a space without equivalence, augmentation and
    test-time averaging do nothing.
    """

    def __init__(self, objective: str = "reg:squarederror", n_estimators: int = 500, max_depth: int = 6,
                 learning_rate: float = 0.05, subsample: float = 0.9, colsample_bytree: float = 0.8,
                 paths: bool = False, seed: int = 0, n_jobs: int = 1, pair_method: str = "mean",
                 pairs_per_sample: int = 8, encoding: str = "tabular", augment: str = "none", copies: int = 8,
                 tta: int = 1, space=None):
        self.objective = objective
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.paths = paths
        self.seed = seed
        self.n_jobs = n_jobs
        self.pair_method = pair_method
        self.pairs_per_sample = pairs_per_sample
        self.encoding = encoding
        self.augment = augment
        self.copies = copies
        self.tta = tta
        self.space = space

    def _check(self) -> None:
        if self.encoding not in ENCODINGS:
            raise UserError(f"encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.augment not in ("none", "functional"):
            raise UserError(f"augment must be 'none' or 'functional', got {self.augment!r}")
        if self.copies < 1 or self.tta < 1:
            raise UserError(f"copies and tta must be >= 1, got {self.copies} and {self.tta}")
        if self.augment == "functional" and self.objective.startswith("rank:"):
            raise UserError("augment='functional' is for regression objectives")

    def _space(self):
        from ..spaces import resolve_space

        return resolve_space(self.space)

    def _encode(self, cells) -> np.ndarray:
        if self.encoding == "structural":
            return features.structural(self._space(), cells)
        return features.tabular(self._space(), cells, self.paths)

    def _model(self):
        kwargs = dict(n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
                      subsample=self.subsample, colsample_bytree=self.colsample_bytree, random_state=self.seed,
                      n_jobs=self.n_jobs, tree_method="hist")
        if self.objective.startswith("rank:"):
            return xgboost.XGBRanker(objective=self.objective, lambdarank_pair_method=self.pair_method,
                                     lambdarank_num_pair_per_sample=self.pairs_per_sample, **kwargs)
        return xgboost.XGBRegressor(objective=self.objective, **kwargs)

    def fit(self, cells, y) -> "XGBPredictor":
        self._check()
        y = np.asarray(y, dtype=np.float32)
        self.model_ = self._model()
        if self.objective.startswith("rank:"):
            self.model_.fit(self._encode(cells), y, qid=np.zeros(len(y), dtype=np.int64))
        elif self.augment == "functional":
            rng = np.random.default_rng(self.seed)
            cells, y, weights = features.functional_augment(self._space(), cells, y, self.copies, rng)
            self.model_.fit(self._encode(cells), y, sample_weight=weights)
        else:
            self.model_.fit(self._encode(cells), y)
        return self

    def predict(self, cells) -> np.ndarray:
        if self.tta <= 1:
            return self.model_.predict(self._encode(cells)).astype(np.float32)
        expanded, owner = features.functional_expand(self._space(), cells, self.tta)
        raw = self.model_.predict(self._encode(expanded)).astype(np.float64)
        return features.mean_by_owner(raw, owner, int(owner.max()) + 1 if len(owner) else 0)
