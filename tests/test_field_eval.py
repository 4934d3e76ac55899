"""`eval` and `evaluate_predictor`: non-finite results stop the fit (exit 1, nothing recorded), the
seeding rule, imports kept out of the timed fit, unwritable outputs refused before fitting, merging
into existing output, named protocols and the cost columns."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from nasbench_rank.quality import protocol as evaluation
from nasbench_rank import plugins, seeding
from nasbench_rank.cli import main
from nasbench_rank.quality.protocol import evaluate_predictor, read_rows

SMALL = ["--n-train", "40", "--n-test", "30", "--target", "cifar10"]
FITS: list[dict] = []


class Mean(BaseEstimator):
    """Predicts the training mean plus a tiny seeded jitter; `value` replaces the predictions."""

    def __init__(self, value: float | None = None, seed: int = 0, loss_nan: bool = False):
        self.value = value
        self.seed = seed
        self.loss_nan = loss_nan

    def fit(self, cells, y):
        FITS.append(self.get_params())
        self.mean_ = float(np.mean(y))
        if self.loss_nan:
            self.loss_history_ = np.array([0.1, np.nan])
        return self

    def predict(self, cells):
        jitter = np.random.default_rng(self.seed).normal(0, 1e-3, len(cells))
        if self.value is not None:
            return np.full(len(cells), self.value)
        return self.mean_ + jitter + np.asarray(cells)[:, 0] * 1e-2


class RandomState(BaseEstimator):
    def __init__(self, random_state: int = 0):
        self.random_state = random_state


@pytest.fixture
def toys(monkeypatch):
    from nasbench_rank.hookspecs import hookimpl

    class Toys:
        @hookimpl
        def register_predictors(self, register):
            register("toy-mean", Mean)
            register("toy-nan", lambda **kw: Mean(value=float("nan"), **kw))
            register("toy-inf", lambda **kw: Mean(value=float("inf"), **kw))
            register("toy-constant", lambda **kw: Mean(value=0.5, **kw))
            register("toy-nan-loss", lambda **kw: Mean(loss_nan=True, **kw))

    loaded = plugins.load_plugins(("toys", Toys()))
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    FITS.clear()
    return loaded


@pytest.mark.parametrize("name, words", [("toy-nan", "non-finite predictions"), ("toy-inf", "non-finite predictions"),
                                         ("toy-nan-loss", "training loss is not finite"),
                                         ("toy-constant", "kendall")])
def test_non_finite_results_exit_1_naming_the_plugin_and_record_nothing(tmp_path, capsys, toys, name, words):
    out = tmp_path / "e.csv"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--predictor", name, *SMALL, "--seeds", "2", "--output", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1
    assert err[-1].startswith("error: ") and f"predictor {name!r}" in err[-1] and words in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not out.exists()  # nothing recorded as finished, so a rerun fits again


def test_a_failed_seed_keeps_earlier_rows_and_is_not_skipped_on_rerun(tmp_path, toys):
    out = tmp_path / "e.csv"
    main_ok = ["eval", "--predictor", "toy-mean", *SMALL, "--seeds", "1", "--output", str(out)]
    with pytest.raises(SystemExit) as exc:
        main(main_ok)
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--predictor", "toy-nan", *SMALL, "--seeds", "1", "--output", str(out)])
    assert exc.value.code == 1
    frame = read_rows(out)
    assert list(frame["predictor"]) == ["toy-mean"]


def test_the_predictor_is_seeded_with_the_split_seed_unless_the_user_set_it(table, toys):
    evaluate_predictor("toy-mean", n_train=30, n_test=20, seed=4, table=table, pool="functional")
    assert FITS[-1]["seed"] == 4
    evaluate_predictor("toy-mean", n_train=30, n_test=20, seed=4, table=table, pool="functional",
                       predictor_kwargs={"seed": 9})
    assert FITS[-1]["seed"] == 9


def test_the_seeding_rule_uses_seed_then_random_state_then_the_attribute():
    assert seeding.apply_seed(Mean(), 5) == "seed"
    model = RandomState()
    assert seeding.apply_seed(model, 6) == "random_state" and model.random_state == 6
    assert seeding.apply_seed(RandomState(), 6, explicit={"random_state": 1}) is None

    class Plain:
        seed = 0

    plain = Plain()
    assert seeding.apply_seed(plain, 7) == "seed" and plain.seed == 7
    assert seeding.apply_seed(object(), 7) is None


def test_building_a_predictor_imports_its_library_so_the_timed_fit_does_not():
    code = ("import sys; from nasbench_rank.plugins import get_plugins; assert 'xgboost' not in sys.modules; "
            "get_plugins().predictors.create('xgb'); assert 'xgboost' in sys.modules; "
            "get_plugins().predictors.create('gin'); assert 'torch' in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_an_output_path_that_cannot_be_encoded_is_refused_before_fitting(tmp_path, capsys, toys):
    bad = str(tmp_path / "e\ud800.csv")
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--predictor", "toy-mean", *SMALL, "--output", bad])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: ") and "cannot be encoded" in err and err.count("\n") == 1
    assert FITS == []


@pytest.mark.parametrize("make", ["dir", "under-file"])
def test_an_output_that_is_a_directory_or_under_a_file_is_refused_before_fitting(tmp_path, capsys, toys, make):
    if make == "dir":
        target = tmp_path / "out.csv"
        target.mkdir()
    else:
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "e.csv"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--predictor", "toy-mean", *SMALL, "--output", str(target)])
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1
    assert FITS == []


def test_eval_merges_into_existing_output_without_losing_rows_or_columns(tmp_path, toys):
    out = tmp_path / "e.csv"
    earlier = pd.DataFrame([{"predictor": "someone-else", "loss": "", "predictor_kwargs": "{}", "pool": "full",
                             "metric": "test", "source": "cifar10", "target": "cifar10", "n_train": 900,
                             "n_test": 100, "seed": 0, "kendall": 0.5, "note": "kept"}])
    earlier.to_csv(out, index=False)
    for extra in (["--metric", "test"], [], ["--seeds", "2"]):
        with pytest.raises(SystemExit) as exc:
            main(["eval", "--predictor", "toy-mean", *SMALL, "--seeds", "1", *extra, "--output", str(out)])
        assert exc.value.code == 0
    frame = read_rows(out)
    assert sorted(frame["predictor"]) == ["someone-else", "toy-mean", "toy-mean", "toy-mean"]
    assert frame.loc[frame["predictor"] == "someone-else", "note"].tolist() == ["kept"]
    mine = frame[frame["predictor"] == "toy-mean"]
    assert sorted(zip(mine["metric"], mine["seed"])) == [("test", 0), ("valid", 0), ("valid", 1)]


def test_rows_carry_the_protocol_provenance_and_costs(table, toys):
    (row,) = evaluate_predictor("toy-mean", n_train=30, n_test=20, seed=1, table=table, pool="functional",
                                metric="valid", protocol="functional")
    assert row["protocol"] == "functional" and row["score_metric"] == "valid"
    assert row["table_sha256"] == table.sha256 and "torch_version" in row and "numpy_version" in row
    train, _ = evaluation.split(evaluation.pool_indices(table, "functional"), 30, 20, 1)
    assert row["label_gpu_hours"] == pytest.approx(table.train_seconds("cifar10")[train].sum() / 3600)
    assert row["query_gpu_hours"] == 0.0


def test_a_proxy_row_charges_no_labels_and_the_12_epoch_reads(table):
    (row,) = evaluate_predictor("acc12", n_train=30, n_test=50, seed=0, table=table, pool="functional",
                                metric="valid")
    _, test = evaluation.split(evaluation.pool_indices(table, "functional"), 30, 50, 0)
    assert row["label_gpu_hours"] == 0.0
    assert row["query_gpu_hours"] == pytest.approx(table.train_seconds("cifar10")[test].sum() * 12 / 200 / 3600)


def test_pinat_scores_every_cell_on_test_accuracy_after_training_on_valid(table, toys):
    (row,) = evaluate_predictor("toy-mean", n_train=78, n_test="all", seed=0, table=table, pool="full",
                                metric="valid", score_metric="test", protocol="pinat")
    assert row["n_test"] == 15625 and row["score_metric"] == "test" and row["metric"] == "valid"
    train, test = evaluation.split(np.arange(15625), 78, "all", 0)
    assert len(test) == 15625 and set(train) <= set(test)


@pytest.mark.parametrize("name, pool, n_test, score_metric", [("pinat", "full", 15625, "test"),
                                                              ("naslib", "full", 200, "valid"),
                                                              ("article", "full", 100, "test"),
                                                              ("functional", "functional", 4930 - 900, "valid")])
def test_named_protocols_fix_their_settings(tmp_path, toys, name, pool, n_test, score_metric):
    out = tmp_path / "e.csv"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--predictor", "toy-mean", "--protocol", name, "--target", "cifar10", "--seeds", "1",
              "--output", str(out)])
    assert exc.value.code == 0
    (row,) = read_rows(out).to_dict("records")
    assert (row["protocol"], row["pool"], row["n_test"], row["score_metric"]) == (name, pool, n_test, score_metric)


def test_changing_a_fixed_setting_makes_the_protocol_custom(tmp_path, toys):
    out = tmp_path / "e.csv"
    with pytest.raises(SystemExit):
        main(["eval", "--predictor", "toy-mean", "--protocol", "pinat", "--n-test", "300", "--target", "cifar10",
              "--seeds", "1", "--output", str(out)])
    (row,) = read_rows(out).to_dict("records")
    assert row["protocol"] != "pinat" and row["n_test"] == 300


def test_rows_written_before_score_metric_existed_still_count_as_done():
    old = {"predictor": "x", "loss": "", "predictor_kwargs": "{}", "pool": "full", "metric": "test", "source": "c",
           "target": "c", "n_train": 9, "n_test": 9, "seed": 0}
    assert evaluation.row_key(old) == evaluation.row_key({**old, "score_metric": "test"})
    assert evaluation.row_key(old) != evaluation.row_key({**old, "score_metric": "valid"})
