"""What the ACT predictor reads from a cell: its edges' relations in the DAG, the effective-op view
(dead edges shown as `none`), and functional copies (cells computing the same function), all
precomputed once over the whole space so that training and prediction only index arrays."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .. import space

# Relations between two tokens, indexing the learned attention bias: the space's edge relations
# (`space.edge_relations`, numbers 0-5) and three for the summary token, which comes first when there is one.
_REL_SUM_TO_EDGE, _REL_EDGE_TO_SUM, _REL_SUM_SELF = 6, 7, 8
N_RELATIONS = 9
effective_ops = space.effective_ops
functional_copies = space.functional_copies


def edge_relations(summary_token: bool) -> torch.Tensor:
    """(T, T) long: the relation of query token i to key token j in the cell's DAG."""
    rel = torch.as_tensor(space.edge_relations(), dtype=torch.long)
    if not summary_token:
        return rel
    n = space.N_EDGES
    full = torch.empty((n + 1, n + 1), dtype=torch.long)
    full[0, 0] = _REL_SUM_SELF
    full[0, 1:] = _REL_SUM_TO_EDGE
    full[1:, 0] = _REL_EDGE_TO_SUM
    full[1:, 1:] = rel
    return full


class SpaceIndex:
    """Whole-space lookups, by cell ordinal: its functional class, the class's members, the ordinal
    of its effective-op view, and the class's distinct effective forms."""

    def __init__(self):
        cells = space.all_cells()
        # class of each ordinal, start of each class in `members`, ordinals sorted by class
        self.group, self.member_start, self.members = space.functional_classes()
        self.effective = space.ordinals(effective_ops(cells))
        forms = np.unique(np.stack([self.group, self.effective], axis=1), axis=0)  # sorted by class, form
        self.forms = forms[:, 1]
        self.form_start = np.searchsorted(forms[:, 0], np.arange(self.group.max() + 2))
        self.tokens = torch.as_tensor(cells, dtype=torch.long)  # row o: the cell of ordinal o

    def sample_copies(self, ordinals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly drawn functional copy of each cell (possibly itself)."""
        g = self.group[ordinals]
        size = self.member_start[g + 1] - self.member_start[g]
        return self.members[self.member_start[g] + (rng.random(len(g)) * size).astype(np.int64)]

    def tta_forms(self, ordinals: np.ndarray, tta: int, effective: bool) -> tuple[np.ndarray, np.ndarray]:
        """(forms, owner): up to `tta` distinct forms per cell, its own first when its class has more,
        then the class's others in ordinal order; owner[i] is the cell that form i belongs to.
        A form is the effective-op view's ordinal (`effective=True`) or a copy's own ordinal."""
        own = self.effective[ordinals] if effective else ordinals
        if tta <= 1:
            return own, np.arange(len(ordinals))
        g = self.group[ordinals]
        forms, start = (self.forms, self.form_start) if effective else (self.members, self.member_start)
        count = start[g + 1] - start[g]
        cols = np.arange(tta)
        idx = np.minimum(start[g][:, None] + cols, len(forms) - 1)
        table = forms[idx]
        valid = cols[None, :] < count[:, None]
        missing = ~((table == own[:, None]) & valid).any(axis=1)  # own form beyond the first tta
        table[missing, tta - 1] = own[missing]
        rows = np.broadcast_to(np.arange(len(ordinals))[:, None], table.shape)
        return table[valid], rows[valid]


@lru_cache(maxsize=1)
def space_index() -> SpaceIndex:
    return SpaceIndex()
