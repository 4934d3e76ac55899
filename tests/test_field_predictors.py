"""The field's predictors: each a scikit-learn-style plugin that fits, predicts finite values of the
right shape, follows its seed, and (where promised) gives a predictive std; the proxies and the
structural encodings they rest on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from nasbench_rank.predictors import features
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank import spaces
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors import gnn
from nasbench_rank.predictors.proxies import parameter_count

#: small settings so each fit takes well under a second
TINY = {
    "xgb-struct": {"n_estimators": 20, "max_depth": 3},
    "rf": {"n_estimators": 20},
    "gp": {},
    "bananas": {"n_models": 2, "epochs": 5, "hidden": 16},
    "gin": {"epochs": 5, "hidden": 16, "layers": 2},
}
WITH_STD = ("rf", "gp", "bananas")


def data(table, n=120, start=0):
    y = table.accuracy("cifar10", "valid", fraction=True)
    return table.cells[start:start + n], y[start:start + n]


@pytest.mark.parametrize("name", sorted(TINY))
def test_each_predictor_fits_predicts_finite_values_and_is_a_clonable_estimator(table, name):
    model = get_plugins().predictors.create(name, **TINY[name])
    params = model.get_params()
    assert clone(model).get_params() == params  # __init__ only stores its keyword arguments
    cells, y = data(table)
    pred = model.fit(cells, y).predict(table.cells[500:560])
    assert pred.shape == (60,) and pred.dtype == np.float32 and np.all(np.isfinite(pred))
    assert np.std(pred) > 0
    # what it learnt carries over: better than chance on cells it did not see
    truth = table.accuracy("cifar10", "valid", fraction=True)[500:560]
    assert np.corrcoef(pred, truth)[0, 1] > 0.2


@pytest.mark.parametrize("name", sorted(TINY))
def test_the_same_seed_gives_the_same_predictions(table, name):
    cells, y = data(table, 80)
    a = get_plugins().predictors.create(name, seed=3, **TINY[name]).fit(cells, y).predict(table.cells[900:940])
    b = get_plugins().predictors.create(name, seed=3, **TINY[name]).fit(cells, y).predict(table.cells[900:940])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["bananas", "gin"])
def test_a_different_seed_gives_a_different_model(table, name):
    cells, y = data(table, 80)
    a = get_plugins().predictors.create(name, seed=0, **TINY[name]).fit(cells, y).predict(table.cells[900:940])
    b = get_plugins().predictors.create(name, seed=1, **TINY[name]).fit(cells, y).predict(table.cells[900:940])
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", WITH_STD)
def test_uncertain_predictors_give_a_non_negative_std_per_cell(table, name):
    cells, y = data(table)
    model = get_plugins().predictors.create(name, **TINY[name]).fit(cells, y)
    std = model.predict_std(table.cells[500:540])
    assert std.shape == (40,) and np.all(std >= 0) and np.all(np.isfinite(std)) and std.max() > 0


def test_gp_is_more_certain_on_a_training_cell_than_far_from_the_data(table):
    cells, y = data(table, 60)
    model = get_plugins().predictors.create("gp").fit(cells, y)
    seen = model.predict_std(cells[:10]).mean()
    unseen = model.predict_std(table.cells[7000:7200]).mean()
    assert seen < unseen


def test_xgb_struct_gives_cells_that_differ_only_in_a_dead_edge_the_same_prediction(table):
    cells, y = data(table, 150)
    model = get_plugins().predictors.create("xgb-struct", tta=1, **TINY["xgb-struct"]).fit(cells, y)
    # 0->1 conv, but node 1 feeds nothing (1->2, 1->3 are none): edge 0->1 is dead in both cells
    a = (3, 3, 0, 2, 0, 3)
    b = (2, 3, 0, 2, 0, 3)
    assert space.functional_key(a) == space.functional_key(b)
    pa, pb = model.predict(np.array([a, b]))
    assert pa == pb
    # the plain encoding tells them apart; the structural one does not
    nb201 = spaces.default_space()
    assert features.tabular(nb201, np.array([a]))[0].tolist() != features.tabular(nb201, np.array([b]))[0].tolist()
    assert features.structural(nb201, np.array([a]))[0].tolist() == features.structural(nb201, np.array([b]))[0].tolist()


def test_xgb_struct_trains_on_functional_copies_with_weights_summing_to_one_per_cell(rng):
    cells = space.all_cells()[[0, 7, 15624]]
    aug, labels, weights = features.functional_augment(spaces.default_space(), cells, np.array([0.1, 0.2, 0.3]), 5, rng)
    for i, label in enumerate((0.1, 0.2, 0.3)):
        mine = np.isclose(labels, label)
        assert np.isclose(weights[mine].sum(), 1.0)
        keys = {space.functional_key(c) for c in aug[mine]}
        assert keys == {space.functional_key(cells[i])}
    assert len(aug) <= 15


def test_effective_ops_sets_exactly_the_dead_edges_to_none():
    # 0->1 conv3x3, 0->2 none, 1->2 conv1x1, 0->3 skip, 1->3 none, 2->3 none: node 2 reaches no output
    cell = (3, 0, 2, 1, 0, 0)
    assert space.effective_ops([cell]).tolist() == [[0, 0, 0, 1, 0, 0]]
    live = (3, 0, 2, 1, 0, 3)
    assert space.effective_ops([live]).tolist() == [list(live)]


def test_functional_copies_compute_the_same_function():
    cell = np.array([[3, 0, 2, 1, 0, 0]])
    copies = space.functional_copies(cell)[0]
    assert space.to_ordinal(cell[0]) in copies
    keys = {space.functional_key(space.from_ordinal(o)) for o in copies}
    assert keys == {space.functional_key(cell[0])} and len(copies) > 1


def test_live_paths_count_only_paths_without_none():
    all_conv = np.array([[3] * 6])
    enc = features.live_paths(all_conv)
    assert enc.shape == (1, 84) and enc.sum() == 4  # the four input->output paths
    assert features.live_paths(np.zeros((1, 6), dtype=int)).sum() == 0
    only_direct = np.array([[0, 0, 0, 2, 0, 0]])  # 0->3 conv1x1 alone: one path of length 1, op index 1
    assert features.live_paths(only_direct)[0, :4].tolist() == [0, 1, 0, 0]


def test_gin_graph_links_only_edges_that_are_not_none():
    adj, feats = gnn.graphs(spaces.default_space(), np.array([[3] * 6, [0, 0, 0, 2, 0, 0]]))
    # all-conv cell: input feeds 3 edge nodes, 3 edge nodes feed the output, and successor links
    # 0->1 feeds 1->2, 1->3; 0->2 feeds 2->3; 1->2 feeds 2->3: 3 + 3 + 4 = 10 links
    assert adj[0].sum() == 10
    assert adj[1].sum() == 2  # input -> 0->3 -> output
    assert feats.shape == (2, 8, 7) and feats[1, 4, 2] == 1  # edge 0->3 (node 4) carries conv1x1


def test_params_proxy_computes_the_tables_parameter_count_from_structure(table):
    counted = parameter_count(table.cells, "cifar10") / 1e6
    column = table.df["cifar10_params_m"].to_numpy()
    agree = np.abs(counted - column) < 1e-4
    # 150 of the table's rows disagree by exactly one convolution edge; every other row matches
    assert agree.sum() == 15475
    off = np.abs(counted - column)[~agree]
    assert np.all(np.isclose(off, 0.028, atol=2e-4) | np.isclose(off, 0.24304, atol=2e-4))
    model = get_plugins().predictors.create("params").fit(table.cells[:5], None)
    np.testing.assert_allclose(model.predict(table.cells[:50]), counted[:50], rtol=1e-6)
    assert model.needs_labels is False and model.query_gpu_hours_ == 0.0


def test_acc12_proxy_reads_12_epoch_accuracy_and_charges_12_of_200_epochs(table):
    model = get_plugins().predictors.create("acc12", table=table).fit(table.cells[:5], None)
    idx = np.arange(100, 140)
    pred = model.predict(table.cells[idx])
    np.testing.assert_allclose(pred, table.accuracy("cifar10", "valid", epochs=12, fraction=True)[idx])
    expected = table.train_seconds("cifar10")[idx].sum() * 12 / 200 / 3600
    assert model.query_gpu_hours_ == pytest.approx(expected) and expected > 0
    assert model.needs_labels is False


@pytest.mark.parametrize("name, kwargs", [("xgb", {"n_estimators": 5}), ("mlp-mse", {"epochs": 2}),
                                          ("xgb-ensemble", {"n_models": 2})])
def test_the_older_predictors_are_scikit_learn_estimators_too(table, name, kwargs):
    model = get_plugins().predictors.create(name, **kwargs)
    twin = clone(model).set_params(seed=5)
    assert twin.get_params()["seed"] == 5 and model.get_params()["seed"] == 0
    cells, y = data(table, 40)
    assert np.all(np.isfinite(twin.fit(cells, y).predict(table.cells[100:110])))


def test_gp_fits_quietly_when_its_kernel_bounds_are_reached(table):
    """Noise-free labels drive the white-noise level to its lower bound, which scikit-learn reports
    with a ConvergenceWarning per fit: an online search refits hundreds of times, so the GP keeps
    that to itself (the fit stays valid: the bound is the fitted value)."""
    import warnings

    cells, _ = data(table, 60)
    canon = spaces.resolve_space(None).canonical(cells)
    y = (np.asarray(canon) == 3).sum(axis=1) / 6.0  # the share of live 3x3 convolutions: no noise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = get_plugins().predictors.create("gp").fit(cells, y)
    assert [str(w.message) for w in caught] == []
    np.testing.assert_allclose(model.predict(cells[:10]), y[:10], atol=0.05)
