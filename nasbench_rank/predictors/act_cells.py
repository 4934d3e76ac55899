"""What the ACT predictor reads from a cell: its edges' relations in the DAG, the effective-op view
(dead edges shown as `none`), and functional copies (cells computing the same function), all
precomputed once over the whole space so that training and prediction only index arrays."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .. import space

# Relations between two tokens, indexing the learned attention bias. Token 0 is the summary token
# when there is one; edge tokens follow in `space.EDGES` order.
_REL_SELF, _REL_FEEDS, _REL_FED_BY, _REL_SAME_SRC, _REL_SAME_DST, _REL_NONE = range(6)
_REL_SUM_TO_EDGE, _REL_EDGE_TO_SUM, _REL_SUM_SELF = 6, 7, 8
N_RELATIONS = 9


def edge_relations(summary_token: bool) -> torch.Tensor:
    """(T, T) long: the relation of query token i to key token j in the cell's DAG."""
    n = space.N_EDGES
    rel = torch.full((n, n), _REL_NONE, dtype=torch.long)
    for i, (si, di) in enumerate(space.EDGES):
        for j, (sj, dj) in enumerate(space.EDGES):
            if i == j:
                rel[i, j] = _REL_SELF
            elif di == sj:
                rel[i, j] = _REL_FEEDS
            elif dj == si:
                rel[i, j] = _REL_FED_BY
            elif si == sj:
                rel[i, j] = _REL_SAME_SRC
            elif di == dj:
                rel[i, j] = _REL_SAME_DST
    if not summary_token:
        return rel
    full = torch.empty((n + 1, n + 1), dtype=torch.long)
    full[0, 0] = _REL_SUM_SELF
    full[0, 1:] = _REL_SUM_TO_EDGE
    full[1:, 0] = _REL_EDGE_TO_SUM
    full[1:, 1:] = rel
    return full


def effective_ops(cells: np.ndarray) -> np.ndarray:
    """Cells with every dead edge set to `none` (op 0): an edge is live when its source is reachable
    from the input and its target reaches the output through non-`none` edges."""
    arr = np.asarray(cells)
    on = arr != 0
    reach = [np.ones(len(arr), dtype=bool)] + [np.zeros(len(arr), dtype=bool) for _ in range(3)]
    for e, (s, d) in enumerate(space.EDGES):
        reach[d] |= reach[s] & on[:, e]
    to_out = [np.zeros(len(arr), dtype=bool) for _ in range(3)] + [np.ones(len(arr), dtype=bool)]
    for e, (s, d) in reversed(list(enumerate(space.EDGES))):
        to_out[s] |= to_out[d] & on[:, e]
    live = np.stack([on[:, e] & reach[s] & to_out[d] for e, (s, d) in enumerate(space.EDGES)], axis=1)
    return np.where(live, arr, 0)


class SpaceIndex:
    """Whole-space lookups, by cell ordinal: its functional class, the class's members, the ordinal
    of its effective-op view, and the class's distinct effective forms."""

    def __init__(self):
        cells = space.all_cells()
        keys = np.array([space.functional_key(c) for c in cells], dtype=object).astype(str)
        _, self.group = np.unique(keys, return_inverse=True)
        self.members = np.argsort(self.group, kind="stable")  # ordinals sorted by class
        self.member_start = np.searchsorted(self.group[self.members], np.arange(self.group.max() + 2))
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


def functional_copies(cells: np.ndarray) -> list[np.ndarray]:
    """For each cell, the ordinals of every cell that computes the same function (itself included)."""
    index = space_index()
    g = index.group[space.ordinals(cells)]
    return [index.members[index.member_start[k]:index.member_start[k + 1]] for k in g]
