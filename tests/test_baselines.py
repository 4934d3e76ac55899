"""The MLP and XGBoost baselines: they learn, they are deterministic for a seed, they take any loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.errors import PluginError, UserError
from nasbench_rank.plugins import get_plugins

FAST_MLP = dict(epochs=15, hidden=32)


@pytest.fixture(scope="module")
def split():
    table = bench.load()
    y = table.accuracy("cifar10", "valid", fraction=True)
    order = np.random.default_rng(0).permutation(len(table))
    train, test = order[:300], order[300:1300]
    return table.cells[train], y[train], table.cells[test], y[test]


def create(name: str, **kwargs):
    return get_plugins().predictors.create(name, **kwargs)


@pytest.mark.parametrize("loss", ["mse", "rank", "mixed", "listnet"])
def test_mlp_ranks_held_out_cells_with_every_loss(split, loss):
    x, y, xt, yt = split
    pred = create("mlp", loss=loss, **FAST_MLP).fit(x, y).predict(xt)
    assert pred.dtype == np.float32 and pred.shape == yt.shape
    assert kendalltau(pred, yt)[0] > 0.4


def test_mlp_is_deterministic_for_a_seed_and_varies_across_seeds(split):
    x, y, xt, _ = split
    a = create("mlp-mixed", seed=3, **FAST_MLP).fit(x, y).predict(xt)
    b = create("mlp-mixed", seed=3, **FAST_MLP).fit(x, y).predict(xt)
    c = create("mlp-mixed", seed=4, **FAST_MLP).fit(x, y).predict(xt)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_mlp_leaves_the_callers_torch_state_alone(split):
    x, y, _, _ = split
    torch.set_num_threads(2)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    create("mlp", threads=1, **FAST_MLP).fit(x, y)
    assert torch.get_num_threads() == 2
    assert torch.equal(torch.rand(3), expected)


def test_mlp_passes_loss_settings_to_the_loss_plugin(split):
    x, y, _, _ = split
    settings = dict(loss="rank", epochs=3, hidden=8)
    small = create("mlp", loss_kwargs={"margin": 0.0}, **settings).fit(x, y)
    large = create("mlp", loss_kwargs={"margin": 0.5}, **settings).fit(x, y)
    assert large.loss_history_[0] > small.loss_history_[0]


def test_mlp_training_loss_decreases(split):
    x, y, _, _ = split
    model = create("mlp-mse", **FAST_MLP).fit(x, y)
    assert model.loss_history_[-1] < model.loss_history_[0]


def test_mlp_unknown_loss_fails_with_the_registry_message(split):
    x, y, _, _ = split
    with pytest.raises(PluginError, match="unknown loss 'rnak'.*Did you mean 'rank'"):
        create("mlp", loss="rnak").fit(x, y)


def test_mlp_refuses_mismatched_labels(split):
    x, y, _, _ = split
    with pytest.raises(UserError):
        create("mlp", **FAST_MLP).fit(x, y[:-1])


def test_xgb_rank_learns_order_from_float_fractions(split):
    """Fractions are float labels; were they truncated to int they would all tie at 0."""
    x, y, xt, yt = split
    fractions = create("xgb-rank", n_estimators=60).fit(x, y).predict(xt)
    percent = create("xgb-rank", n_estimators=60).fit(x, y * 100).predict(xt)
    assert kendalltau(fractions, yt)[0] > 0.6
    assert kendalltau(fractions, percent)[0] > 0.95


def test_xgb_is_deterministic_for_a_seed(split):
    x, y, xt, _ = split
    a = create("xgb", n_estimators=30, seed=1).fit(x, y).predict(xt)
    b = create("xgb", n_estimators=30, seed=1).fit(x, y).predict(xt)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


def test_fits_use_their_thread_count_and_restore_the_callers():
    import torch

    from nasbench_rank.predictors.threads import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError("a failed fit")
    assert torch.get_num_threads() == before
