"""The contract every registered space keeps (run on each built-in; a third-party space can reuse
`check_space`)."""

import numpy as np
import pytest

from nasbench_rank import spaces
from nasbench_rank.errors import UserError
from nasbench_rank.spaces import Benchmark, ParseError, Space


def _load(name: str) -> Benchmark:
    try:
        return spaces.load(name)
    except spaces.ExtraMissing as exc:  # CI installs the extras; a bare install skips cleanly
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=["nb201", "nbgraph", "fcnet"])
def bm(request) -> Benchmark:
    return _load(request.param)


def test_built_in_spaces_are_registered_through_the_hook():
    assert {"nb201", "nbgraph", "fcnet"} <= set(spaces.names())


def test_format_and_parse_round_trip_on_a_seeded_sample(bm):
    sp = bm.space
    sample = sp.sample(np.random.default_rng(0), 200)
    texts = [sp.format(e) for e in sample]
    assert [sp.parse(t) for t in texts] == [tuple(e) for e in sample.tolist()]
    assert len(set(texts)) == 200  # drawn without replacement, distinct strings


def test_ordinals_enumerate_the_space_in_order(bm):
    sp = bm.space
    every = sp.elements()
    assert every.shape == (sp.size, sp.width) and every.dtype == np.int64
    assert np.array_equal(sp.ordinals(every), np.arange(sp.size))
    assert sp.element(sp.size - 1) == tuple(every[-1].tolist())
    with pytest.raises(ParseError):
        sp.element(sp.size)


def test_sampling_follows_the_seed(bm):
    sp = bm.space
    a = sp.sample(np.random.default_rng(7), 50)
    b = sp.sample(np.random.default_rng(7), 50)
    c = sp.sample(np.random.default_rng(8), 50)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(UserError):
        sp.sample(np.random.default_rng(0), sp.size + 1)


def test_neighbours_are_one_step_valid_distinct_and_symmetric(bm):
    sp = bm.space
    for e in sp.sample(np.random.default_rng(1), 20).tolist():
        e = tuple(e)
        nbrs = sp.neighbours(e)
        assert len(set(nbrs)) == len(nbrs) and e not in nbrs
        sp.ordinals(nbrs)  # every neighbour is an element
        assert all(sum(a != b for a, b in zip(e, n)) == 1 for n in nbrs)
        assert all(e in sp.neighbours(n) for n in nbrs[:5])


def test_encodings_have_the_declared_shapes_and_ranges(bm):
    sp = bm.space
    x = sp.sample(np.random.default_rng(2), 16)
    oh = sp.one_hot(x)
    assert oh.dtype == np.float32 and oh.shape[0] == 16 and set(np.unique(oh)) <= {0.0, 1.0}
    assert np.all(oh.sum(1) == oh.sum(1)[0])  # one hot entry per group
    tok = sp.tokens(x)
    assert tok.shape == (16, sp.n_tokens) and tok.min() >= 0 and tok.max() < sp.vocab_size
    rel = sp.relations(x)
    assert rel.shape == (16, sp.n_tokens, sp.n_tokens) and rel.min() >= 0 and rel.max() < sp.n_relations
    diag = rel[:, np.arange(sp.n_tokens), np.arange(sp.n_tokens)]
    assert np.all(diag == diag[0, 0])  # a token relates to itself one way
    assert np.all((rel == diag[0, 0]).sum(axis=(1, 2)) == sp.n_tokens)
    # distinct elements get distinct one-hot codes
    assert len({row.tobytes() for row in oh}) == 16


def test_malformed_strings_and_tuples_are_one_line_parse_errors(bm):
    sp = bm.space
    for bad in ["", "nonsense", sp.format(sp.element(0)) + "x", 42]:
        with pytest.raises(ParseError) as info:
            sp.parse(bad)
        assert "\n" not in str(info.value) and isinstance(info.value, ValueError)
    with pytest.raises(ParseError):
        sp.ordinals([[-1] * sp.width])
    with pytest.raises(ParseError):
        sp.ordinals([[0] * (sp.width + 1)])


def test_optimum_follows_the_metric_direction(bm):
    dataset = bm.datasets[0]
    for name, metric in bm.metrics.items():
        values = bm.values(dataset, name)
        best = bm.optimum(dataset, name)
        expected = values.max() if metric.direction == "max" else values.min()
        assert best.value == expected and values[best.ordinal] == pytest.approx(expected, rel=1e-9)
        assert best.ordinal == min(best.ties)


def test_values_and_costs_cover_the_dataset_space(bm):
    for dataset in bm.datasets[:2]:
        sub = bm.space_of(dataset)
        values, cost = bm.values(dataset), bm.cost(dataset)
        assert values.shape == cost.shape == (sub.size,)
        assert np.all(np.isfinite(values)) and np.all(cost > 0)
        x = sub.sample(np.random.default_rng(3), 5)
        assert np.array_equal(bm.lookup(dataset, x), values[sub.ordinals(x)])


def test_unknown_dataset_metric_and_fidelity_are_user_errors(bm):
    with pytest.raises(UserError, match="unknown dataset"):
        bm.canonical_dataset("no-such-data")
    with pytest.raises(UserError, match="unknown metric"):
        bm.metric("accuracy@never")
    with pytest.raises(UserError, match="no fidelity"):
        bm.values(bm.datasets[0], fidelity="1000ep")


def test_per_seed_results_average_to_the_table_value(bm):
    dataset = bm.datasets[0]
    seeds = bm.per_seed(dataset)
    if seeds is None:
        assert bm.name == "nbgraph"  # the light tables hold seed means only
        return
    assert seeds.shape[0] == bm.space_of(dataset).size and seeds.shape[1] >= 2
    assert np.allclose(np.nanmean(seeds, axis=1), bm.values(dataset), rtol=1e-4, atol=1e-3)


def test_equivalence_classes_partition_the_space(bm):
    sp = bm.space
    if not sp.has_equivalence:
        with pytest.raises(NotImplementedError):
            sp.equivalence_key(sp.element(0))
        assert len(sp.representatives()) == sp.size
        return
    keys = list(sp.equivalence_keys())
    reps = sp.representatives()
    assert 1 < len(reps) < sp.size
    assert len({keys[i] for i in reps}) == len(reps) == len(set(keys))
    assert sp.equivalence_key(sp.element(int(reps[-1]))) == keys[int(reps[-1])]


def test_every_dataset_has_a_verified_checksum_for_provenance(bm):
    from nasbench_rank.provenance import provenance

    for dataset in bm.datasets:
        row = provenance(bm.checksum(dataset))
        assert len(row["table_sha256"]) == 64 and row["table_verified"] is True
