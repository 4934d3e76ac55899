"""Equivalence classes, canonical forms and predictor space injection on the space interface."""

import copy

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as nb201_cells
from nasbench_rank import spaces
from nasbench_rank.errors import UserError


def test_nb201_classes_are_the_functional_classes_and_canonical_is_the_effective_view():
    s = spaces.default_space()
    group, starts, members = s.classes()
    assert group.max() + 1 == 4930
    cells = s.elements([0, 17, 1234, 15624])
    np.testing.assert_array_equal(s.canonical(cells), nb201_cells.effective_ops(cells))
    # the canonical form of every member lies in the member's own class, and is fewer forms than members
    g = group[1234]
    ords = members[starts[g]:starts[g + 1]]
    canon = s.canonical(s.elements(ords))
    assert (group[s.ordinals(canon)] == g).all()
    assert 1 < len(np.unique(canon, axis=0)) < len(ords)


class _Tiny(spaces.Space):
    name, size, width, n_tokens, vocab_size, n_relations = "tiny", 6, 1, 1, 6, 1

    def parse(self, text):
        return (int(text),)

    def format(self, element):
        return str(element[0])

    def ordinals(self, elements):
        return np.asarray([int(e[0]) for e in elements], dtype=np.int64)

    def elements(self, ordinals=None):
        ords = np.arange(self.size) if ordinals is None else np.asarray(list(ordinals), dtype=np.int64)
        return ords.reshape(-1, 1)

    def neighbours(self, element):
        return []

    def one_hot(self, elements):
        return np.eye(self.size, dtype=np.float32)[self.ordinals(elements)]

    def tokens(self, elements):
        return self.elements(self.ordinals(elements))

    def relations(self, elements):
        return np.zeros((len(list(elements)), 1, 1), dtype=np.int64)


class _TinyPairs(_Tiny):
    def equivalence_key(self, element):
        return int(element[0]) // 2  # 0~1, 2~3, 4~5


def test_classes_default_to_singletons_and_canonical_to_the_smallest_member():
    group, starts, members = _Tiny().classes()
    np.testing.assert_array_equal(group, np.arange(6))
    pairs = _TinyPairs()
    group, starts, members = pairs.classes()
    np.testing.assert_array_equal(group, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(starts, [0, 2, 4, 6])
    np.testing.assert_array_equal(pairs.canonical([(5,), (2,), (1,)]).ravel(), [4, 2, 0])


def test_a_space_is_shared_not_copied():
    s = _Tiny()
    assert copy.deepcopy(s) is s and copy.copy(s) is s


class _TakesSpace:
    def __init__(self, space=None, seed=0):
        self.space, self.seed = space, seed

    def get_params(self, deep=False):
        return {"space": self.space, "seed": self.seed}

    def set_params(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)
        return self


class _NoSpace:
    def get_params(self, deep=False):
        return {"seed": 0}


def test_give_space_sets_the_setting_unless_the_user_did_and_refuses_a_predictor_without_one():
    tiny = _Tiny()
    model = _TakesSpace()
    spaces.give_space(model, tiny, "p")
    assert model.space is tiny
    kept = _TakesSpace(space="mine")
    spaces.give_space(kept, tiny, "p", explicit={"space"})
    assert kept.space == "mine"
    spaces.give_space(_NoSpace(), spaces.default_space(), "old")  # nb201 needs no setting
    with pytest.raises(UserError, match="'old' takes no 'space' setting"):
        spaces.give_space(_NoSpace(), tiny, "old")


def test_resolve_space_accepts_none_a_name_or_a_space():
    assert spaces.resolve_space(None).name == "nb201"
    assert spaces.resolve_space("nb201") is spaces.default_space()
    tiny = _Tiny()
    assert spaces.resolve_space(tiny) is tiny
    with pytest.raises(UserError):
        spaces.resolve_space(3)


def test_runs_on_keeps_the_predictors_that_take_a_space_and_says_why_others_are_left_out():
    keep, refused = spaces.runs_on(("xgb", "no-such-predictor"), _Tiny())
    assert keep == ("xgb",)
    assert len(refused) == 1 and refused[0].startswith("skipping no-such-predictor: ") and "\n" not in refused[0]


def test_parse_ranges_reads_the_benchmark_scripts_seed_lists():
    from nasbench_rank.seeding import parse_ranges

    assert parse_ranges("0-3") == [0, 1, 2, 3]
    assert parse_ranges("100,102-103") == [100, 102, 103]
    assert parse_ranges("7") == [7]
