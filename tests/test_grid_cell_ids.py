"""A grid cell's id: it changes when any setting that decides the cell's result changes (so two
settings never share a record), and stays when only what the cell also writes changes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_rank.grid import spec

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None)

SEARCH = {"predictor": "xgb", "loss": None, "source": "cifar10", "n_train": 900, "metric": "valid", "search": "topk",
          "dataset": "cifar10", "mode": "pretrained", "budget": 210, "predictor_kwargs": {},
          "search_kwargs": {}, "seed": 0}
EVAL = {"predictor": "xgb", "loss": None, "source": "cifar10", "n_train": 900, "metric": "test", "pool": "full",
        "n_test": 100, "targets": ["cifar10"], "predictor_kwargs": {}, "save_predictions": False, "seed": 0}

KINDS = {"search": SEARCH, "eval": EVAL}
values = st.one_of(st.integers(1, 10**6), st.sampled_from(["cifar100", "rank", "online", "x"]),
                   st.dictionaries(st.sampled_from(["k", "pool", "init"]), st.integers(1, 50), min_size=1, max_size=2))


@FAST
@given(st.sampled_from(sorted((kind, key) for kind, base in KINDS.items() for key in base if key not in spec.NOT_IN_ID)),
       values)
def test_cell_id_changes_when_any_result_determining_setting_changes(kind_key, value):
    kind, key = kind_key
    base = KINDS[kind]
    if value == base[key]:
        return
    changed = {**base, key: value}
    assert spec.cell_id(kind, changed) != spec.cell_id(kind, base)
    assert spec.make_cell(kind, changed).id == spec.cell_id(kind, changed)


def test_cell_id_changes_with_search_kwargs_and_with_the_kind():
    a = spec.cell_id("search", {**SEARCH, "search_kwargs": {"k": 5}})
    b = spec.cell_id("search", {**SEARCH, "search_kwargs": {"k": 10}})
    assert len({a, b, spec.cell_id("search", SEARCH), spec.cell_id("eval", SEARCH)}) == 4


def test_cell_id_is_stable_and_ignores_key_order_and_what_the_cell_only_writes():
    ident = spec.cell_id("eval", EVAL)
    assert ident == spec.cell_id("eval", dict(reversed(list(EVAL.items()))))
    assert ident == spec.cell_id("eval", {**EVAL, "save_predictions": True})
    assert len(ident) == 16 and int(ident, 16) >= 0


def test_two_search_blocks_differing_only_in_search_kwargs_give_two_cells():
    data = {"search": [{"searches": "topk", "budget": 30, "search_kwargs": {"k": 5}},
                       {"searches": "topk", "budget": 30, "search_kwargs": {"k": 10}}]}
    cells, problems = spec.expand(data)
    assert problems == [] and len({c.id for c in cells}) == 2
    assert sorted(c.settings["search_kwargs"]["k"] for c in cells) == [5, 10]
