"""What the ACT predictor reads from a space's elements: their tokens and token relations, the
canonical view (NB201: the effective-op view, dead edges shown as `none`), and functional copies
(members of the element's equivalence class), all precomputed once per space object over the whole
space so that training and prediction only index arrays."""

from __future__ import annotations

import weakref

import numpy as np
import torch

from ..spaces import nb201_cell as space
from ..spaces import Space, default_space

# Relations between two tokens, indexing the learned attention bias: the space's own relations
# (0..n_relations-1) and three for the summary token, which comes first when there is one.
N_SUMMARY_RELATIONS = 3
N_RELATIONS = 6 + N_SUMMARY_RELATIONS  # NAS-Bench-201's: its 6 edge relations + 3
effective_ops = space.effective_ops
functional_copies = space.functional_copies


def n_relations(sp: Space) -> int:
    """Relation ids the attention bias needs for `sp`: its own plus the summary token's three."""
    return int(sp.n_relations) + N_SUMMARY_RELATIONS


def with_summary(relations: torch.Tensor, n_space_relations: int) -> torch.Tensor:
    """(..., T, T) long relations -> (..., T+1, T+1) with the summary token first: summary to token,
    token to summary and summary to itself get the ids n, n+1 and n+2 (n = the space's relations)."""
    *lead, t, _ = relations.shape
    full = torch.empty((*lead, t + 1, t + 1), dtype=torch.long, device=relations.device)
    full[..., 0, 0] = n_space_relations + 2
    full[..., 0, 1:] = n_space_relations
    full[..., 1:, 0] = n_space_relations + 1
    full[..., 1:, 1:] = relations
    return full


def edge_relations(summary_token: bool, sp: Space | None = None) -> torch.Tensor:
    """(T, T) long: the relation of query token i to key token j, for a space whose relations are
    the same for every element (NAS-Bench-201's DAG by default)."""
    index = space_index(default_space() if sp is None else sp)
    if index.relations is None:
        raise ValueError(f"space {index.space_name!r} has relations that vary between elements")
    rel = index.relations
    return with_summary(rel, index.n_space_relations) if summary_token else rel


class SpaceIndex:
    """Whole-space lookups, by ordinal: its class, the class's members, the ordinal of its canonical
    form, the class's distinct canonical forms, and the token row the model reads. When the space's
    relations differ between elements, a token row is the element's tokens followed by its (T, T)
    relation matrix, flattened (`relations` is then None), so that one tensor carries both."""

    def __init__(self, sp: Space):
        elements = sp.elements()
        self.space_name = sp.name
        self.n_tokens = int(sp.n_tokens)
        self.n_space_relations = int(sp.n_relations)
        # class of each ordinal, start of each class in `members`, ordinals sorted by class
        self.group, self.member_start, self.members = sp.classes()
        self.effective = sp.ordinals(sp.canonical(elements))
        forms = np.unique(np.stack([self.group, self.effective], axis=1), axis=0)  # sorted by class, form
        self.forms = forms[:, 1]
        self.form_start = np.searchsorted(forms[:, 0], np.arange(self.group.max() + 2))
        tokens = np.asarray(sp.tokens(elements), dtype=np.int64)
        rel = np.asarray(sp.relations(elements), dtype=np.int64)
        if len(rel) == 0 or bool(np.all(rel == rel[:1])):
            self.relations: torch.Tensor | None = torch.as_tensor(rel[0] if len(rel) else rel, dtype=torch.long)
            self.tokens = torch.as_tensor(tokens, dtype=torch.long)  # row o: the tokens of ordinal o
        else:
            self.relations = None
            self.tokens = torch.as_tensor(np.concatenate([tokens, rel.reshape(len(rel), -1)], axis=1), dtype=torch.long)

    def sample_copies(self, ordinals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly drawn functional copy of each element (possibly itself)."""
        g = self.group[ordinals]
        size = self.member_start[g + 1] - self.member_start[g]
        return self.members[self.member_start[g] + (rng.random(len(g)) * size).astype(np.int64)]

    def tta_forms(self, ordinals: np.ndarray, tta: int, effective: bool) -> tuple[np.ndarray, np.ndarray]:
        """(forms, owner): up to `tta` distinct forms per element, its own first when its class has
        more, then the class's others in ordinal order; owner[i] is the element that form i belongs to.
        A form is the canonical form's ordinal (`effective=True`) or a copy's own ordinal."""
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


_INDEXES: "weakref.WeakKeyDictionary[Space, SpaceIndex]" = weakref.WeakKeyDictionary()


def space_index(sp: Space | None = None) -> SpaceIndex:
    """The index of `sp` (None: NAS-Bench-201), built once per space object."""
    sp = default_space() if sp is None else sp
    found = _INDEXES.get(sp)
    if found is None:
        found = _INDEXES[sp] = SpaceIndex(sp)
    return found
