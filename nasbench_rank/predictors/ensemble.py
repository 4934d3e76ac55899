"""Uncertainty for any predictor: fit several copies that differ only in their seed (and, optionally,
in a bootstrap resample of the training cells) and read their spread as the predictive std."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator

from ..errors import UserError


class EnsemblePredictor(BaseEstimator):
    """Mean and std over ``n_models`` fits of the registered predictor ``base``.

    Member ``i`` gets ``seed + i``; a base predictor without a ``seed`` setting would give identical
    members and no uncertainty, so it is refused. ``space`` (None: NAS-Bench-201) is handed to every
    member with `spaces.give_space` (unless ``base_kwargs`` sets it). The registry hands over
    ``make_member`` (building ``base`` with ``base_kwargs``) when it builds the ensemble; by hand, pass
    a callable that returns a fresh unfitted member.
    """

    injected = ("make_member",)  # handed over by the registry: not saved, given again when a saved model is loaded

    def __init__(self, base: str = "xgb", n_models: int = 5, base_kwargs: dict[str, Any] | None = None,
                 bootstrap: bool = False, seed: int = 0, space=None, make_member: Callable[[], Any] | None = None):
        self.base = base
        self.n_models = n_models
        self.base_kwargs = base_kwargs
        self.bootstrap = bootstrap
        self.seed = seed
        self.space = space
        self.make_member = make_member

    def fit(self, cells, y) -> "EnsemblePredictor":
        from ..seeding import apply_seed
        from .batched import fit_many
        from ..spaces import give_space, resolve_space

        make = self.make_member
        if make is None:
            raise UserError(f"the ensemble's {self.base!r} members are built by a factory the registry hands over when it "
                            "builds the ensemble; build it through the registry, or pass make_member= (returning a fresh "
                            "member) when building it by hand")
        built = getattr(make, "built_for", None)
        if built is not None and built != (self.base, dict(self.base_kwargs or {})):
            raise UserError(f"ensemble was built for base {built[0]!r} with {built[1]}, but its base is now "
                            f"{self.base!r} with {self.base_kwargs or {}}: build it again through the registry")
        if self.n_models < 2:
            raise UserError(f"an ensemble needs n_models >= 2, got {self.n_models}")
        sp = resolve_space(self.space)
        cells = sp.as_array(cells)
        y = np.asarray(y, dtype=np.float32)
        rng = np.random.default_rng(self.seed)
        members, xs, ys = [], [], []
        for i in range(self.n_models):
            member = make()
            give_space(member, sp, self.base, explicit=(self.base_kwargs or {}))
            if apply_seed(member, self.seed + i) is None:
                raise UserError(f"ensemble base {self.base!r} has no seed setting, so its members would be identical")
            rows = rng.integers(0, len(y), len(y)) if self.bootstrap else np.arange(len(y))
            members.append(member)
            xs.append(cells[rows])
            ys.append(y[rows])
        # members whose class offers fit_many (e.g. the ACT predictor) train together
        self.members_ = fit_many(members, xs, ys)
        return self

    def _member_predictions(self, cells) -> np.ndarray:
        return np.stack([np.asarray(m.predict(cells), dtype=np.float32) for m in self.members_])

    def predict(self, cells) -> np.ndarray:
        return self._member_predictions(cells).mean(axis=0).astype(np.float32)

    def predict_std(self, cells) -> np.ndarray:
        return self._member_predictions(cells).std(axis=0).astype(np.float32)
