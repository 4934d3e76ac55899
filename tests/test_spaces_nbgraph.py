import sys

import numpy as np
import pytest

from nasbench_rank import spaces
from nasbench_rank.spaces.nbgraph import LINKS, OPS, REL_FEEDS, REL_SAME_INPUT, NBGraphSpace

nbg = pytest.importorskip("nas_bench_graph")


@pytest.fixture(scope="module")
def bm():
    return spaces.load("nbgraph")


def test_counts_match_the_package_classes(bm):
    sp = bm.space
    assert sp.size == 9 * (9**4 - 1) == 59040
    assert len(np.unique(sp.equivalence_keys())) == 26206
    prot = bm.space_of("proteins")
    assert prot.size == 9 * (5**4 - 1) and len(np.unique(prot.equivalence_keys())) == 2021
    assert len(bm.values("cora")) == 59040 and len(bm.values("proteins")) == 5616


def test_equivalence_is_the_package_valid_hash(bm):
    sp = bm.space
    a, b = sp.parse("0,0,0,0:gcn,gin,fc,cheb"), sp.parse("0,0,0,0:cheb,fc,gin,gcn")  # same four parallel layers
    assert sp.equivalence_key(a) == sp.equivalence_key(b) == nbg.Arch([0, 0, 0, 0], ["gcn", "gin", "fc", "cheb"]).valid_hash()
    assert bm.lookup("cora", [a])[0] == bm.lookup("cora", [b])[0]
    c = sp.parse("0,1,2,3:gcn,gin,fc,cheb")
    assert sp.equivalence_key(c) != sp.equivalence_key(a)
    info = nbg.light_read("cora")[nbg.Arch([0, 1, 2, 3], ["gcn", "gin", "fc", "cheb"]).valid_hash()]
    assert bm.lookup("cora", [c], "valid")[0] == pytest.approx(info["valid_perf"])
    assert bm.lookup("cora", [c], "test")[0] == pytest.approx(info["perf"])


def test_parse_refuses_unknown_links_ops_and_the_empty_model(bm):
    sp = bm.space
    for bad, message in (("0,1,0,0:gcn,gcn,gcn,gcn", "not one of the 9 patterns"),
                         ("0,1,2,3:gcn,gcn,gcn,lstm", "unknown operation"),
                         ("0,1,2,3:skip,skip,skip,skip", "four 'skip'"),
                         ("0,1,2,3:gcn,gcn", "needs 4 ops")):
        with pytest.raises(spaces.ParseError, match=message):
            sp.parse(bad)
    with pytest.raises(spaces.ParseError, match="unknown operation 'gat'"):
        bm.space_of("proteins").parse("0,1,2,3:gat,gcn,fc,skip")


def test_proteins_subspace_shares_element_tuples_and_encodings(bm):
    full, prot = bm.space, bm.space_of("proteins")
    x = prot.sample(np.random.default_rng(0), 50)
    full.ordinals(x)  # every proteins element is an element of the full space
    assert np.array_equal(prot.one_hot(x), full.one_hot(x)) and np.array_equal(prot.tokens(x), full.tokens(x))
    assert set(np.unique(x[:, 1:])) <= {OPS.index(o) for o in prot.ops}


def test_tokens_carry_op_and_input_and_relations_follow_links(bm):
    sp = bm.space
    e = sp.parse("0,1,1,2:gat,gcn,gin,cheb")
    assert sp.tokens([e])[0].tolist() == [OPS.index("gat") * 4 + 0, OPS.index("gcn") * 4 + 1,
                                           OPS.index("gin") * 4 + 1, OPS.index("cheb") * 4 + 2]
    rel = sp.relations([e])[0]
    assert rel[0, 1] == REL_FEEDS and rel[1, 2] == REL_SAME_INPUT and rel[1, 3] == REL_FEEDS
    adj, labels = sp.dag(e)
    assert adj[0, 1] == adj[1, 2] == adj[1, 3] == adj[2, 4] == 1
    assert adj[3, 5] == adj[4, 5] == 1 and adj[1, 5] == 0 and labels[1:5] == ["gat", "gcn", "gin", "cheb"]


def test_neighbour_count_changes_one_op_or_the_link(bm):
    sp = bm.space
    assert len(sp.neighbours(sp.parse("0,1,2,3:gcn,gin,fc,cheb"))) == 8 + 4 * 8
    assert len(sp.neighbours(sp.parse("0,1,2,3:gcn,skip,skip,skip"))) == 8 + 4 * 8 - 1  # not all-skip


def test_values_are_fractions_and_latency_is_minimised(bm):
    for dataset in ("cora", "proteins"):
        v = bm.values(dataset, "valid")
        assert 0 < v.min() and v.max() <= 1
    assert bm.metrics["latency"].direction == "min"
    assert bm.optimum("arxiv", "latency").value == bm.values("arxiv", "latency").min()


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    from nasbench_rank.tables import nbgraph as tables_nbgraph

    monkeypatch.setitem(sys.modules, "nas_bench_graph", None)  # import now fails as if not installed
    with pytest.raises(spaces.ExtraMissing, match=r"pip install 'nasbench-rank\[graph\]'") as info:
        spaces.load("nbgraph")
    assert "\n" not in str(info.value)
    with pytest.raises(spaces.ExtraMissing):
        tables_nbgraph.require()


def test_space_rejects_an_op_list_without_skip():
    with pytest.raises(ValueError):
        NBGraphSpace(("gcn", "gin"))
    assert len(LINKS) == 9


def test_optimum_ties_include_values_equal_but_for_float_rounding(bm):
    # cora's two best validation values are means of the same three numbers summed in another order
    values = bm.values("cora", "valid")
    best = np.nanmax(values)
    near = np.flatnonzero(np.abs(values - best) < 1e-12)
    assert len(near) == 2 and len(np.unique(values[near])) == 2
    assert set(bm.optimum("cora", "valid").ties) == set(near.tolist())
