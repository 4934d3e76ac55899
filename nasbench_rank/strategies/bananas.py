"""BANANAS (White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures for
Neural Architecture Search", AAAI 2021), written from the paper's description.

The method: a few random architectures; then, each iteration, an ensemble of MLPs on the path
encoding is fitted to every evaluated architecture (here: the run's predictor, refitted by the
framework before every ask: pair it with the `bananas` predictor, online, `refit_every` <= k);
candidates are made by mutating the best architectures found so far; each candidate gets one
independent Thompson sample from the ensemble's mean and spread (a normal with the ensemble's mean
and std), and the k with the highest samples are evaluated.
"""

from __future__ import annotations

import numpy as np

from ..loop.view import SearchView
from .mutation import MutationSearch


class Bananas(MutationSearch):
    """`init` random cells; then each round: `candidates` free one-step mutants of the `parents`
    best cells, ranked by independent Thompson sampling (mean + std * z, z ~ N(0, 1) drawn per
    candidate with the run's rng); the `k` best go to evaluation. Without scores yet: random picks.

    Settings as we read the paper: init 10, k 10 per iteration, 100 candidates by mutation of the
    best architectures (we take the 10 best as parents: the paper's exact count is not restated
    here), ensemble of 5 MLPs (the `bananas` predictor's default). Needs a predictor with `predict_std`.
    """

    needs_std = True

    def pick(self, view: SearchView, cands: np.ndarray) -> np.ndarray:
        mean = view.score(cands)
        std = view.std(cands) if mean is not None else None
        if mean is None or std is None:
            order = view.rng.permutation(len(cands))
        else:
            draw = np.asarray(mean, dtype=np.float64) + np.asarray(std, dtype=np.float64) * view.rng.standard_normal(len(cands))
            order = np.argsort(-draw, kind="stable")
        return cands[order[: self.k]]
