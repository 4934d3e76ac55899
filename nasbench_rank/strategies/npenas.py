"""NPENAS (Wei, Niu, Tang & Liang, "NPENAS: Neural Predictor Guided Evolution for Neural
Architecture Search", arXiv 2003.12857 / IEEE TNNLS 2022), the predictor-guided variant (NPENAS-NP),
written from the paper's description.

The method: evolution whose mutation is one-to-many: the parent yields many children and a neural
predictor (the paper's: a graph neural network; pair it here with `gin`, or any predictor) picks
which of them are trained, instead of training one random child.
"""

from __future__ import annotations

import numpy as np

from ..loop.view import SearchView
from .base import top
from .mutation import MutationSearch


class NPENAS(MutationSearch):
    """`init` random cells; then each round the `parents` best evaluated cells (the population's
    fittest) each yield children by mutation (random walks of 1 or 2 steps through the space's
    neighbours), `candidates` children in all; the predictor scores them and the `k` best-scored are
    evaluated. Without scores yet: random children.

    Settings as we read the paper: init 10, 10 architectures trained per iteration, 100 children
    per iteration; the parent count (1: the incumbent alone) is our choice, not restated from the paper.
    """

    steps = (1, 2)

    def __init__(self, init: int = 10, k: int = 10, candidates: int = 100, parents: int = 1):
        super().__init__(init, k, candidates, parents)

    def pick(self, view: SearchView, cands: np.ndarray) -> np.ndarray:
        cands = cands[view.rng.permutation(len(cands))]  # equal scores never favour the first parent
        return top(cands, view.score(cands), self.k, view.rng)
