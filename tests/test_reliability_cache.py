"""Fits and saved predictors are stored in formats that cannot run code when read: a planted or
corrupt file is discarded (with a warning) or refused, and nothing in it runs."""

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from nasbench_rank.predictors import fit_cache, persist
from nasbench_rank.errors import UserError
from nasbench_rank.plugins import get_plugins

SETTINGS = {"n_estimators": 5}
KEY = ("xgb", json.dumps(SETTINGS, sort_keys=True), "cifar10", "valid", 60, 0)


class Payload:
    """Unpickling this runs code: it writes `path`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return exec, (f"open({self.path!r}, 'w').write('ran')",)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(fit_cache.CACHE_ENV, str(tmp_path / "cache"))
    fit_cache.clear_memory()
    yield tmp_path / "cache"
    fit_cache.clear_memory()


@pytest.fixture
def fit(table):
    calls = []

    def run():
        calls.append(1)
        model = get_plugins().predictors.create("xgb", **SETTINGS).fit(table.cells[:60], table.accuracy("cifar10", "valid", fraction=True)[:60])
        return model, 0.25

    run.calls = calls
    return run


def test_cached_fit_shares_a_fit_between_processes_through_the_disk(cache, fit, table):
    model, seconds = fit_cache.cached_fit(KEY, fit)
    assert fit.calls == [1] and seconds == 0.25
    assert fit_cache.cached_fit(KEY, fit)[0] is model  # this process: from memory
    fit_cache.clear_memory()  # as another worker process would start
    again, seconds = fit_cache.cached_fit(KEY, fit)
    assert fit.calls == [1] and again is not model and seconds == 0.25
    np.testing.assert_array_equal(again.predict(table.cells[100:300]), model.predict(table.cells[100:300]))
    assert [p.suffix for p in sorted(cache.iterdir())] == [".lock", ".safetensors"]


def test_a_fit_from_another_table_or_key_is_not_reused(cache, fit):
    fit_cache.cached_fit(KEY, fit)
    fit_cache.clear_memory()
    fit_cache.cached_fit(KEY, fit, table_sha256="0" * 64)
    fit_cache.clear_memory()
    fit_cache.cached_fit(KEY[:-1] + (1,), fit)
    assert len(fit.calls) == 3 and len(list(cache.glob("*.safetensors"))) == 3


def test_a_planted_pickle_in_the_cache_is_never_executed(cache, fit, table, tmp_path):
    path = fit_cache.entry_path(cache, KEY, table.sha256)
    path.parent.mkdir(parents=True)
    ran = tmp_path / "ran"
    with open(path, "wb") as fh:  # a valid npz holding a pickle, under the entry's name
        np.savez(fh, evil=np.array([Payload(ran)], dtype=object))
    (cache / (path.stem + ".pkl")).write_bytes(pickle.dumps(Payload(ran)))  # the first cache format
    (cache / (path.stem + ".npz")).write_bytes(path.read_bytes())  # the second
    with np.load(path, allow_pickle=True) as npz:  # the payload is live: a pickle load would run it
        npz["evil"]
    assert ran.read_text() == "ran"
    ran.unlink()
    with pytest.warns(UserWarning, match="discarding unreadable fit cache entry"):
        model, _ = fit_cache.cached_fit(KEY, fit)
    assert not ran.exists() and fit.calls == [1]
    fit_cache.clear_memory()
    fit_cache.cached_fit(KEY, fit)  # the entry was replaced by a safe one
    assert fit.calls == [1] and not ran.exists()


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated zip"])
def test_a_corrupt_entry_is_discarded_with_a_warning_and_refitted(cache, fit, table, content):
    path = fit_cache.entry_path(cache, KEY, table.sha256)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="discarding unreadable fit cache entry"):
        fit_cache.cached_fit(KEY, fit)
    assert fit.calls == [1]
    fit_cache.clear_memory()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_cache.cached_fit(KEY, fit)  # recovered: read back without a warning
    assert fit.calls == [1]


def test_an_entry_of_another_class_is_discarded(cache, fit, table):
    other = get_plugins().predictors.create("ridge").fit(table.cells[:60], table.accuracy("cifar10", "valid", fraction=True)[:60])
    path = fit_cache.entry_path(cache, KEY, table.sha256)
    path.parent.mkdir(parents=True)
    path.write_bytes(persist.state_bytes(other, {"key": repr(KEY), "seconds": 1.0,
                                                 "identity": fit_cache.identity(KEY, table.sha256)}))
    with pytest.warns(UserWarning, match="saved state is of .*Ridge"):
        fit_cache.cached_fit(KEY, fit)
    assert fit.calls == [1]


def test_a_predictor_without_a_safe_format_is_refit_never_pickled(cache):
    class Opaque:
        def fit(self, x, y):
            self.hook_ = lambda v: v
            return self

        def predict(self, x):
            return x

    def run():
        return Opaque().fit(None, None), 0.1

    model, _ = fit_cache.cached_fit(KEY, run)
    assert isinstance(model, Opaque) and not list(cache.glob("*.safetensors"))


@pytest.mark.parametrize("name, kwargs", [("mlp", {"epochs": 2}), ("act-rank", {"epochs": 1, "hidden": 16, "tta": 2}),
                                          ("ensemble", {"base": "mlp", "n_models": 2, "base_kwargs": {"epochs": 2}}),
                                          ("xgb-rank", {"n_estimators": 5}), ("ridge", {}), ("gp", {"restarts": 0}),
                                          ("rf", {"n_estimators": 5}), ("bananas", {"n_models": 2, "epochs": 2}),
                                          ("gin", {"epochs": 1, "hidden": 8, "layers": 1})])
def test_every_builtin_and_the_example_plugin_round_trip_exactly(tmp_path, table, name, kwargs):
    model = get_plugins().predictors.create(name, **kwargs).fit(table.cells[:80], table.accuracy("cifar10", "valid", fraction=True)[:80])
    persist.save_predictor(model, tmp_path / "p", {"name": name, "kwargs": kwargs})
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["meta.json", "state.safetensors"]
    loaded = persist.load_predictor(tmp_path / "p")
    np.testing.assert_array_equal(loaded.predict(table.cells[100:300]), model.predict(table.cells[100:300]))


def test_a_saved_predictor_never_unpickles(tmp_path, table):
    ran = tmp_path / "ran"
    old = tmp_path / "old"
    old.mkdir()
    (old / "meta.json").write_text(json.dumps({"format": 1, "name": "xgb", "kwargs": {}}))
    (old / "predictor.pkl").write_bytes(pickle.dumps(Payload(ran)))
    with pytest.raises(UserError, match="saved as a pickle by an older version"):
        persist.load_predictor(old)
    for fmt, name in ((persist.FORMAT, persist.STATE_NAME), (2, persist.OLD_STATE_NAME)):
        planted = tmp_path / f"planted-{fmt}"
        planted.mkdir()
        (planted / "meta.json").write_text(json.dumps({"format": fmt, "name": "xgb", "kwargs": {}}))
        with open(planted / name, "wb") as fh:  # an npz holding a pickle, under the state file's name
            np.savez(fh, evil=np.array([Payload(ran)], dtype=object))
        with pytest.raises(UserError, match="cannot load predictor"):
            persist.load_predictor(planted)
    assert not ran.exists()


def test_saving_a_predictor_without_a_safe_format_is_refused(tmp_path):
    class Opaque:
        def __init__(self):
            self.model_ = object()

    with pytest.raises(persist.UnsafeState, match="has no safe format"):
        persist.save_predictor(Opaque(), tmp_path / "p", {"name": "opaque"})
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("change", ["table", "code", "plugin version"])
def test_an_entry_copied_under_another_fits_name_is_discarded_and_refitted(cache, fit, table, monkeypatch, change):
    """An entry carries the whole of its key (settings, table checksum, code, plugin versions) and
    is used only where that key is asked for: a well-formed entry of another fit, planted under this
    fit's file name, is discarded with a warning and this fit is made."""
    fit_cache.cached_fit(KEY, fit)
    made = next(cache.glob("*.safetensors"))
    fit_cache.clear_memory()
    if change == "table":
        asked = fit_cache.entry_path(cache, KEY, "0" * 64)
        run = lambda: fit_cache.cached_fit(KEY, fit, table_sha256="0" * 64)
    else:
        if change == "code":
            monkeypatch.setattr(fit_cache, "code_key", lambda: "another-code")
        else:
            monkeypatch.setattr(fit_cache, "plugin_distributions", lambda uses: {"xgboost-plugin": "9.9.9"})
        asked = fit_cache.entry_path(cache, KEY, table.sha256)
        run = lambda: fit_cache.cached_fit(KEY, fit)
    assert asked != made
    asked.write_bytes(made.read_bytes())
    with pytest.warns(UserWarning, match="another fit"):
        run()
    assert len(fit.calls) == 2


FORMAT2 = Path(__file__).parent / "data" / "format2"  # saved by nasbench-rank 0.1.0 before format 3


def test_a_builtin_saved_in_format_2_still_loads_and_predicts_as_it_was_fitted(table):
    y = table.accuracy("cifar10", "valid", fraction=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "predictor in .* was saved by nasbench-rank")  # when the version moves on
        loaded = persist.load_predictor(FORMAT2 / "xgb")
    fresh = get_plugins().predictors.create("xgb", n_estimators=5, seed=0).fit(table.cells[:60], y[:60])
    np.testing.assert_array_equal(loaded.predict(table.cells[100:300]), fresh.predict(table.cells[100:300]))


def test_a_format_2_folder_holding_a_scikit_learn_estimator_is_refused_in_one_line():
    with pytest.raises(UserError) as refused:
        persist.load_predictor(FORMAT2 / "ridge")
    message = str(refused.value)
    assert "\n" not in message and "format 2, which kept only the public fitted attributes" in message
    assert "refit it" in message
