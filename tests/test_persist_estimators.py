"""A plugin predictor holding a scikit-learn estimator survives a save/load round trip whole (its
private fitted state included), through `save_predictor`, a `bench` cell with `save_predictions`
and the pretrained-fit cache; and a planted file is refused in one line without running anything."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from nasbench_rank.grid import harness, spec
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors import fit_cache, persist


@pytest.fixture
def sample(table):
    y = table.accuracy("cifar10", "valid", fraction=True)
    return table.cells[:80], y[:80], table.cells[100:300]


def test_a_plugin_knn_regressor_round_trips_and_predicts_identically(knn_plugin, sample, tmp_path):
    cells, y, other = sample
    model = get_plugins().predictors.create(knn_plugin, n_neighbors=3).fit(cells, y)
    persist.save_predictor(model, tmp_path / "p", {"name": knn_plugin, "kwargs": {"n_neighbors": 3}})
    loaded = persist.load_predictor(tmp_path / "p")
    assert loaded is not model and type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(other), model.predict(other))
    assert loaded.model_._fit_method == "kd_tree"


def test_a_bench_cell_saving_predictions_of_a_plugin_knn_regressor_succeeds(knn_plugin, table, tmp_path):
    path = tmp_path / "knn.toml"
    path.write_text(f'name = "knn"\n[[eval]]\npredictors = ["{knn_plugin}"]\ntargets = ["cifar10"]\n'
                    'n_train = 60\nn_test = 50\nseeds = 1\nsave_predictions = true\n')
    grid = spec.load(path, get_plugins())
    report = harness.run_grid(grid, tmp_path / "out", workers=1, progress=False)
    record = harness.load_records(tmp_path / "out")[0]
    assert report.ran == 1 and not report.failed, record.get("error")
    saved = pd.read_csv(tmp_path / "out" / "predictions" / grid.cells[0].id / harness.PREDICTIONS_CSV)
    assert len(saved) == 50 and np.isfinite(saved["predicted"]).all()
    train = _train_of(grid.cells[0].settings, table)
    refit = get_plugins().predictors.create(knn_plugin).fit(table.cells[train],
                                                             table.accuracy("cifar10", "valid", fraction=True)[train])
    np.testing.assert_allclose(saved["predicted"], refit.predict(table.cells[saved["index"].to_numpy()]), rtol=1e-6)


def _train_of(settings, table):
    from nasbench_rank.quality.protocol import pool_indices, split

    return split(pool_indices(table, settings["pool"]), settings["n_train"], settings["n_test"], settings["seed"])[0]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(fit_cache.CACHE_ENV, str(tmp_path / "cache"))
    fit_cache.clear_memory()
    yield tmp_path / "cache"
    fit_cache.clear_memory()


def test_the_fit_cache_gives_back_a_plugin_knn_regressor_that_predicts_identically(knn_plugin, sample, cache):
    cells, y, other = sample
    key = (knn_plugin, json.dumps({}), "cifar10", "valid", 80, 0)
    calls = []

    def fit():
        calls.append(1)
        return get_plugins().predictors.create(knn_plugin).fit(cells, y), 0.5

    model, _ = fit_cache.cached_fit(key, fit)
    fit_cache.clear_memory()  # as another worker process would start
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read back, not discarded
        again, seconds = fit_cache.cached_fit(key, fit)
    assert calls == [1] and again is not model and seconds == 0.5
    np.testing.assert_array_equal(again.predict(other), model.predict(other))


# ---- planted files ---------------------------------------------------------------------------

def _skops_calling(module: str, name: str, *args) -> bytes:
    """A skops file that, loaded with `module.name` trusted, calls `module.name(*args)`."""
    import io
    import zipfile

    import skops.io

    inner = io.BytesIO(skops.io.dumps(tuple(args)))
    with zipfile.ZipFile(inner) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    content = json.loads(files["schema.json"])
    schema = {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
              "protocol": content.pop("protocol"), "_skops_version": content.pop("_skops_version"),
              "content": content}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, json.dumps(schema) if n == "schema.json" else data)
    return out.getvalue()


def _plant(directory, name, model_entry: bytes, **meta):
    """A saved-predictor folder for `name` whose `model_` attribute is the skops file `model_entry`."""
    from safetensors.numpy import save

    directory.mkdir()
    tree = {"class": meta.pop("cls"), "format": persist.FORMAT, "meta": {},
            "state": {"dict": {"n_neighbors": 5, "algorithm": "kd_tree", "space": None,
                               "model_": {"skops": "a0", "type": "sklearn.neighbors.KNeighborsRegressor"}}}}
    data = save({"a0": np.frombuffer(model_entry, dtype=np.uint8)}, metadata={persist.TREE_KEY: json.dumps(tree)})
    (directory / persist.STATE_NAME).write_bytes(data)
    (directory / persist.META_NAME).write_text(json.dumps({"format": persist.FORMAT, "name": name, "kwargs": {}}))
    return directory


def _payloads(ran):
    """Skops files each of which, trusted blindly, would act: run Python, write a file with an
    allowed package's function, map a file with one of its classes."""
    return {
        "builtins.exec": _skops_calling("builtins", "exec", f"open({str(ran)!r}, 'w').write('ran')"),
        "numpy.savetxt": _skops_calling("numpy", "savetxt", str(ran), [1.0]),
        "numpy.memmap": _skops_calling("numpy", "memmap", str(ran), "uint8", "w+", 0, (4,)),
    }


def test_the_planted_skops_payloads_are_live_when_trusted_blindly(tmp_path):
    import skops.io

    ran = tmp_path / "ran"
    for name, data in _payloads(ran).items():
        assert skops.io.get_untrusted_types(data=data) == [name]
        skops.io.loads(data, trusted=[name])
        assert ran.exists(), name
        ran.unlink()


@pytest.mark.parametrize("payload", ["builtins.exec", "numpy.savetxt", "numpy.memmap"])
def test_a_saved_predictor_naming_a_type_off_the_allow_list_is_refused_and_nothing_runs(knn_plugin, tmp_path,
                                                                                       payload):
    from nasbench_rank.errors import UserError
    from knn_regressor_plugin import KNNRegressorPredictor

    ran = tmp_path / "ran"
    cls = f"{KNNRegressorPredictor.__module__}:{KNNRegressorPredictor.__qualname__}"
    folder = _plant(tmp_path / "p", knn_plugin, _payloads(ran)[payload], cls=cls)
    with pytest.raises(UserError) as refused:
        persist.load_predictor(folder)
    message = str(refused.value)
    assert "\n" not in message and f"names {payload}, which is not on the allow-list" in message
    assert str(folder) in message and not ran.exists()


def test_a_fit_cache_entry_naming_a_type_off_the_allow_list_is_discarded_and_nothing_runs(knn_plugin, sample,
                                                                                          cache, tmp_path):
    cells, y, _ = sample
    key = (knn_plugin, json.dumps({}), "cifar10", "valid", 80, 0)
    model, _ = fit_cache.cached_fit(key, lambda: (get_plugins().predictors.create(knn_plugin).fit(cells, y), 0.5))
    path = next(cache.glob("*.safetensors"))
    tree, arrays = persist.read_state_bytes(path.read_bytes())
    ran = tmp_path / "ran"
    arrays[tree["state"]["dict"]["model_"]["skops"]] = np.frombuffer(_payloads(ran)["builtins.exec"], dtype=np.uint8)
    from safetensors.numpy import save

    path.write_bytes(save(arrays, metadata={persist.TREE_KEY: json.dumps(tree)}))
    fit_cache.clear_memory()
    with pytest.warns(UserWarning, match="discarding unreadable fit cache entry.*builtins.exec, which is not on the"):
        fit_cache.cached_fit(key, lambda: (model, 0.5))
    assert not ran.exists()


# ---- eval --save-predictor / --load-predictor ----------------------------------------------------

def _eval(capsys, *args):
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["eval", *args])
    return exit_.value.code, capsys.readouterr().err


def test_a_saved_knn_regressor_is_scored_again_without_refitting_and_transfers(knn_plugin, tmp_path, capsys):
    from nasbench_rank.quality.protocol import read_rows

    fitted = ["--predictor", knn_plugin, "--n-train", "60", "--n-test", "50", "--seeds", "2", "--target", "cifar10"]
    code, err = _eval(capsys, *fitted, "--save-predictor", str(tmp_path / "saved"), "--output", str(tmp_path / "a.csv"))
    assert code == 0, err
    code, err = _eval(capsys, "--load-predictor", str(tmp_path / "saved"), "--target", "cifar10,cifar100",
                      "--output", str(tmp_path / "b.csv"))
    assert code == 0, err
    assert "not refitted" in err
    first, again = read_rows(tmp_path / "a.csv"), read_rows(tmp_path / "b.csv")
    assert sorted(again["target"]) == ["cifar10", "cifar10", "cifar100", "cifar100"]
    same = again[again["target"] == "cifar10"].sort_values("seed").reset_index(drop=True)
    pd.testing.assert_frame_equal(same[first.columns], first.sort_values("seed").reset_index(drop=True),
                                  check_dtype=False)


class Payload:
    """Unpickling this runs code: it writes `path`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return exec, (f"open({self.path!r}, 'w').write('ran')",)


def test_eval_refuses_a_planted_saved_predictor_in_one_line_with_exit_2_and_runs_nothing(knn_plugin, tmp_path,
                                                                                         capsys):
    import pickle

    code, err = _eval(capsys, "--predictor", knn_plugin, "--n-train", "60", "--n-test", "50", "--seeds", "2",
                      "--target", "cifar10", "--save-predictor", str(tmp_path / "saved"),
                      "--output", str(tmp_path / "a.csv"))
    assert code == 0, err
    ran = tmp_path / "ran"
    seed1 = tmp_path / "saved" / "seed-1" / persist.STATE_NAME
    tree, arrays = persist.read_state_bytes(seed1.read_bytes())
    from safetensors.numpy import save

    arrays[tree["state"]["dict"]["model_"]["skops"]] = np.frombuffer(_payloads(ran)["builtins.exec"], dtype=np.uint8)
    seed1.write_bytes(save(arrays, metadata={persist.TREE_KEY: json.dumps(tree)}))
    out = tmp_path / "b.csv"
    code, err = _eval(capsys, "--load-predictor", str(tmp_path / "saved"), "--output", str(out))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert "names builtins.exec, which is not on the allow-list" in err and "seed-1" in err
    assert not ran.exists() and not out.exists()  # refused before any predictor was scored

    seed1.write_bytes(pickle.dumps(Payload(ran)))  # a pickle renamed
    code, err = _eval(capsys, "--load-predictor", str(tmp_path / "saved" / "seed-1"), "--output", str(out))
    assert code == 2 and err.startswith("error: cannot load predictor from ") and err.count("\n") == 1
    assert not ran.exists() and not out.exists()


def test_eval_load_predictor_refuses_options_that_would_change_the_saved_protocol(tmp_path, capsys):
    code, err = _eval(capsys, "--load-predictor", str(tmp_path), "--predictor", "xgb", "--n-train", "10")
    assert code == 2 and "drop --predictor, --n-train" in err and err.count("\n") == 1
    code, err = _eval(capsys, "--load-predictor", str(tmp_path))
    assert code == 2 and "holds no saved predictor" in err
    code, err = _eval(capsys, "--n-train", "10")
    assert code == 2 and "give --predictor NAME" in err


def test_eval_load_predictor_refuses_a_folder_saved_without_its_protocol(capsys):
    from pathlib import Path

    code, err = _eval(capsys, "--load-predictor", str(Path(__file__).parent / "data" / "format2" / "xgb"))
    assert code == 2 and "saved without the protocol it was evaluated on" in err and err.count("\n") == 1


@pytest.mark.parametrize("name, allowed", [
    ("sklearn.neighbors._kd_tree.KDTree", True), ("sklearn.tree._tree.Tree", True),
    ("sklearn.gaussian_process.kernels.RBF", True), ("numpy.float64", True), ("numpy.random.PCG64", True),
    ("scipy.sparse._csr.csr_matrix", True), ("xgboost.sklearn.XGBRegressor", True),
    ("nasbench_rank.predictors.xgb.XGBPredictor", True),
    ("numpy.memmap", False), ("numpy.savetxt", False), ("numpy.load", False), ("builtins.exec", False),
    ("os.system", False), ("scipy.io.FortranFile", False), ("scipy.sparse.linalg.LinearOperator", False),
    ("nasbench_rank.__main__.main", False), ("nasbench_rank.plugins.lazy", False),
    ("knn_regressor_plugin.KNNRegressorPredictor", False), ("xgboost.DMatrix", False)])
def test_the_allow_list_admits_classes_of_the_named_packages_only(name, allowed):
    from nasbench_rank.predictors import trusted

    assert trusted.allowed(name) is allowed


def test_the_allow_list_admits_the_holding_predictors_own_class(knn_plugin):
    from knn_regressor_plugin import KNNRegressorPredictor
    from nasbench_rank.predictors import trusted

    assert trusted.allowed("knn_regressor_plugin.KNNRegressorPredictor", own=(KNNRegressorPredictor,))
    assert not trusted.allowed("knn_regressor_plugin.Other", own=(KNNRegressorPredictor,))
