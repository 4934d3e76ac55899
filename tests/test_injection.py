"""The registry hands a predictor its loss and its ensemble members when it builds one; no predictor
looks the registry up itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import nasbench_rank.predictors as predictors_package
from nasbench_rank.errors import UserError
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors import persist
from nasbench_rank.predictors.act import ACTPredictor
from nasbench_rank.predictors.ensemble import EnsemblePredictor
from nasbench_rank.predictors.losses import MSELoss, PairwiseRankLoss
from nasbench_rank.predictors.mlp import MLPPredictor
from nasbench_rank.spaces import nb201_cell as space

ACT = dict(hidden=16, heads=2, expansion=2.0, epochs=2, batch_size=16, tta=1, device="cpu")
MLP = dict(epochs=2, hidden=16)
FRAMEWORK = {"persist.py", "fit_cache.py"}  # saving and caching build predictors through the registry


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    return space.sample(rng, 40), rng.uniform(0.8, 0.95, size=40).astype(np.float32)


def build(name, **settings):
    return get_plugins().predictors.create(name, **settings)


def test_no_predictor_module_looks_up_the_registry():
    folder = Path(predictors_package.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        if path.name in FRAMEWORK:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.ImportFrom)
                     else [node.id] if isinstance(node, ast.Name) else [node.attr] if isinstance(node, ast.Attribute) else [])
            if "get_plugins" in names:
                offenders.append(f"{path.name}:{node.lineno}")
    assert len(list(folder.glob("*.py"))) > len(FRAMEWORK) + 5  # the scan did read the package
    assert offenders == []


@pytest.mark.parametrize("name, settings, loss", [("act-mixed", ACT, "mixed"), ("act-rank", ACT, "rank"),
                                                  ("mlp-mse", MLP, "mse"), ("mlp", {**MLP, "loss": "listnet"}, "listnet")])
def test_a_registry_built_predictor_is_handed_its_loss_and_fits(sample, name, settings, loss):
    cells, y = sample
    model = build(name, **settings)
    assert model.loss_fn.built_for == (loss, {})
    pred = model.fit(cells, y).predict(cells)
    assert pred.shape == (len(cells),) and np.all(np.isfinite(pred))


def test_the_loss_is_built_with_the_predictors_loss_settings():
    model = build("mlp", loss="rank", loss_kwargs={"margin": 0.05, "n_pairs": 8})
    assert isinstance(model.loss_fn.fn, PairwiseRankLoss)
    assert (model.loss_fn.fn.margin, model.loss_fn.fn.n_pairs) == (0.05, 8)


def test_an_unknown_loss_fails_when_the_predictor_is_built():
    with pytest.raises(UserError, match="unknown loss 'no-such-loss'"):
        build("mlp", loss="no-such-loss")


@pytest.mark.parametrize("make", [lambda: ACTPredictor(**ACT), lambda: MLPPredictor(**MLP),
                                  lambda: EnsemblePredictor(base="mlp", n_models=2)])
def test_a_predictor_built_by_hand_without_its_loss_or_members_refuses_in_one_line(sample, make):
    cells, y = sample
    with pytest.raises(UserError) as err:
        make().fit(cells, y)
    assert "registry" in str(err.value) and "\n" not in str(err.value)


def test_a_predictor_built_by_hand_trains_with_the_loss_object_it_is_given(sample):
    cells, y = sample
    a = MLPPredictor(loss="mse", loss_fn=MSELoss(), seed=2, **MLP).fit(cells, y).predict(cells)
    b = build("mlp-mse", seed=2, **MLP).fit(cells, y).predict(cells)
    np.testing.assert_array_equal(a, b)


def test_a_loss_changed_after_building_is_refused(sample):
    cells, y = sample
    model = build("mlp-mse", **MLP).set_params(loss="rank")
    with pytest.raises(UserError, match="built for loss 'mse'.*now 'rank'"):
        model.fit(cells, y)
    ensemble = build("ensemble", base="mlp", n_models=2, base_kwargs=MLP).set_params(base="xgb")
    with pytest.raises(UserError, match="built for base 'mlp'.*now 'xgb'"):
        ensemble.fit(cells, y)


@pytest.mark.parametrize("name, settings", [("mlp-mixed", MLP), ("ensemble", {"base": "mlp", "n_models": 2, "base_kwargs": MLP})])
def test_a_clone_keeps_what_the_registry_handed_over_and_fits(sample, name, settings):
    cells, y = sample
    model = build(name, seed=1, **settings)
    copy = clone(model)
    injected = type(model).injected[0]
    assert getattr(copy, injected) is getattr(model, injected)
    np.testing.assert_array_equal(copy.fit(cells, y).predict(cells), model.fit(cells, y).predict(cells))


@pytest.mark.parametrize("base, base_kwargs", [("act", ACT), ("mlp-mixed", MLP)])
def test_an_ensemble_of_neural_members_fits_each_with_its_loss(sample, base, base_kwargs):
    cells, y = sample
    model = build("ensemble", base=base, n_models=2, base_kwargs=base_kwargs).fit(cells, y)
    assert [m.loss_fn.built_for[0] for m in model.members_] == ["mixed", "mixed"]
    assert np.all(model.predict_std(cells) > 0)


def test_a_saved_act_is_saved_without_its_loss_and_loaded_with_it_again(tmp_path, sample):
    cells, y = sample
    model = build("act-mixed", **ACT).fit(cells, y)
    persist.save_predictor(model, tmp_path / "p", {"name": "act-mixed", "kwargs": ACT})
    tree, _ = persist.read_state_bytes((tmp_path / "p" / persist.STATE_NAME).read_bytes())
    assert "loss_fn" not in tree["state"]["dict"] and "models_" in tree["state"]["dict"]
    loaded = persist.load_predictor(tmp_path / "p")
    assert loaded.loss_fn.built_for == ("mixed", {})
    np.testing.assert_array_equal(loaded.predict(cells), model.predict(cells))
    assert "InjectedLoss" not in json.dumps(tree)


def test_a_saved_ensemble_is_loaded_with_its_member_factory_and_members_with_their_loss(tmp_path, sample):
    cells, y = sample
    settings = {"base": "mlp", "n_models": 2, "base_kwargs": MLP}
    model = build("ensemble", **settings).fit(cells, y)
    persist.save_predictor(model, tmp_path / "p", {"name": "ensemble", "kwargs": settings})
    loaded = persist.load_predictor(tmp_path / "p")
    assert loaded.make_member.built_for == ("mlp", MLP)
    assert [m.loss_fn.built_for for m in loaded.members_] == [("mse", {})] * 2
    np.testing.assert_array_equal(loaded.predict(cells), model.predict(cells))
