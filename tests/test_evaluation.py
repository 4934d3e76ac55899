"""The evaluation protocol, persistence of fitted predictors and the ensemble's uncertainty."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import kendalltau

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.errors import PluginError, UserError
from nasbench_rank.quality.protocol import (COLUMNS, evaluate_predictor, pool_indices, precision_top, read_rows,
    resolve_protocol, score, split, summarize, write_rows)
from nasbench_rank.predictors.persist import load_predictor, read_meta, save_predictor
from nasbench_rank.plugins import get_plugins

TINY_XGB = {"n_estimators": 20, "max_depth": 3}
TINY_MLP = {"epochs": 5, "hidden": 16}


@pytest.fixture(scope="module")
def table():
    return bench.load()


def test_unique_pool_is_the_first_cell_of_each_unique_id(table):
    pool = pool_indices(table, "unique")
    ids = table.unique_ids()
    assert len(pool) == table.df["unique_id"].nunique() == len(set(ids[pool]))
    first = {}
    for i, u in enumerate(ids):
        first.setdefault(u, i)
    assert sorted(first.values()) == pool.tolist()
    assert len(pool_indices(table, "full")) == len(table)


def test_split_is_seeded_and_disjoint(table):
    pool = pool_indices(table, "unique")
    train, test = split(pool, 900, 100, seed=5)
    again, _ = split(pool, 900, 100, seed=5)
    other, _ = split(pool, 900, 100, seed=6)
    assert len(set(train)) == 900 and len(set(test)) == 100 and not set(train) & set(test)
    assert set(train) <= set(pool) and set(test) <= set(pool)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)


def test_precision_top_counts_the_true_top_share_found():
    truth = np.arange(40, dtype=float)  # top 5% of 40 = the 2 best: indices 38, 39
    assert precision_top(truth, truth) == 1.0
    assert precision_top(-truth, truth) == 0.0
    pred = np.zeros(40)
    pred[[39, 0]] = 1.0
    assert precision_top(pred, truth) == 0.5


def test_score_on_a_perfect_and_a_reversed_ranking():
    truth = np.linspace(0.5, 0.9, 50)
    perfect = score(truth, truth)
    assert perfect["spearman"] == pytest.approx(1) and perfect["kendall"] == pytest.approx(1)
    assert perfect["r2"] == pytest.approx(1) and perfect["mae"] == pytest.approx(0)
    reverse = score(truth[::-1], truth)
    assert reverse["kendall"] == pytest.approx(-1) and reverse["precision_top5pct"] == 0.0
    shifted = score(truth + 0.1, truth)
    assert shifted["kendall"] == pytest.approx(1) and shifted["mae"] == pytest.approx(0.1)
    assert shifted["r2"] == pytest.approx(1 - 0.1**2 / truth.var())  # R^2 sees the offset, rank metrics do not


def test_evaluate_returns_one_tidy_row_per_target(table):
    rows = evaluate_predictor("xgb", targets=("cifar10", "cifar100", "ImageNet16-120"), n_train=100, n_test=50,
                              seed=1, predictor_kwargs=TINY_XGB, table=table)
    assert [r["target"] for r in rows] == ["cifar10", "cifar100", "imagenet16"]
    assert [r["transfer"] for r in rows] == [False, True, True]
    for row in rows:
        assert set(row) == set(COLUMNS)
        assert (row["predictor"], row["pool"], row["metric"], row["n_train"], row["n_test"], row["seed"]) == \
            ("xgb", "full", "test", 100, 50, 1)
        assert row["version"] == __version__ and row["fit_seconds"] > 0
        assert 0.3 < row["spearman"] <= 1 and 0 <= row["precision_top5pct"] <= 1
    assert json.loads(rows[0]["predictor_kwargs"]) == TINY_XGB


def test_evaluate_fits_once_on_the_source_and_scores_the_same_test_cells(table):
    """Scores on every target come from one fit: recomputing them by hand from the split agrees."""
    rows = evaluate_predictor("xgb", source="cifar100", targets=("cifar10", "cifar100"), pool="unique", n_train=80,
                              n_test=60, metric="valid", seed=2, predictor_kwargs=TINY_XGB, table=table)
    train, test = split(pool_indices(table, "unique"), 80, 60, 2)
    y = table.accuracy("cifar100", "valid", fraction=True)
    model = get_plugins().predictors.create("xgb", seed=2, **TINY_XGB).fit(table.cells[train], y[train])
    pred = model.predict(table.cells[test])
    for row in rows:
        truth = table.accuracy(row["target"], "valid", fraction=True)[test]
        assert row["kendall"] == pytest.approx(kendalltau(pred, truth)[0])
    assert rows[0]["transfer"] and not rows[1]["transfer"]


def test_unique_pool_tests_on_the_rest(table):
    protocol = resolve_protocol("xgb", pool="unique", n_train=900, n_test="rest", table=table)
    assert protocol.n_test == len(pool_indices(table, "unique")) - 900


def test_loss_argument_reaches_the_predictor_and_names_the_row(table):
    rows = evaluate_predictor("mlp", loss="rank", n_train=60, n_test=30, predictor_kwargs=TINY_MLP, table=table)
    assert rows[0]["loss"] == "rank"
    preset = evaluate_predictor("mlp-mixed", n_train=60, n_test=30, predictor_kwargs=TINY_MLP, table=table)
    assert preset[0]["loss"] == "mixed"


@pytest.mark.parametrize("settings, message", [
    ({"pool": "tiny"}, "unknown pool"),
    ({"metric": "train"}, "unknown metric"),
    ({"source": "mnist"}, "unknown dataset"),
    ({"targets": ("cifar10", "svhn")}, "unknown dataset"),
    ({"n_train": 15600, "n_test": 100}, "exceeds"),
    ({"pool": "unique", "n_train": 6000, "n_test": 500}, "exceeds"),
    ({"n_test": "most"}, "n_test"),
    ({"n_train": 1}, "n_train"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_settings_fail_with_a_user_error(table, settings, message):
    with pytest.raises(UserError, match=message):
        evaluate_predictor("xgb", table=table, **settings)


def test_unknown_loss_and_predictor_fail_with_the_registry_message(table):
    with pytest.raises(PluginError, match="unknown loss 'mxed'.*Did you mean 'mixed'"):
        evaluate_predictor("mlp", loss="mxed", table=table)
    with pytest.raises(PluginError, match="unknown predictor 'xbg'"):
        evaluate_predictor("xbg", table=table)


def test_write_rows_merges_and_replaces_rows_of_the_same_protocol(tmp_path, table):
    path = tmp_path / "eval.csv"
    first = evaluate_predictor("xgb", targets=("cifar10", "cifar100"), n_train=50, n_test=20, seed=0,
                               predictor_kwargs=TINY_XGB, table=table)
    write_rows(path, first)
    write_rows(path, evaluate_predictor("xgb", n_train=50, n_test=20, seed=1, predictor_kwargs=TINY_XGB, table=table))
    again = [{**r, "fit_seconds": 123.0} for r in first]
    merged = write_rows(path, again)
    frame = read_rows(path)
    assert len(frame) == len(merged) == 3
    assert sorted(frame["fit_seconds"])[-2:] == [123.0, 123.0]
    assert [p.name for p in tmp_path.iterdir()] == ["eval.csv"]  # no temporary or lock file beside it
    summary = summarize(frame)
    c10 = summary[summary["target"] == "cifar10"].iloc[0]
    assert c10["n"] == 2 and c10["kendall_mean"] == pytest.approx(frame[frame["target"] == "cifar10"]["kendall"].mean())


@pytest.mark.parametrize("name, kwargs", [("xgb", TINY_XGB), ("mlp-mixed", TINY_MLP), ("xgb-ensemble", {"base_kwargs": TINY_XGB, "n_models": 2})])
def test_a_loaded_predictor_predicts_identically(tmp_path, table, name, kwargs):
    cells, y = table.cells[:200], table.accuracy("cifar10", "valid", fraction=True)[:200]
    model = get_plugins().predictors.create(name, **kwargs).fit(cells, y)
    save_predictor(model, tmp_path / "p", {"name": name, "kwargs": kwargs, "protocol": {"n_train": 200}})
    loaded = load_predictor(tmp_path / "p")
    np.testing.assert_array_equal(loaded.predict(table.cells[200:700]), model.predict(table.cells[200:700]))
    meta = read_meta(tmp_path / "p")
    assert meta["name"] == name and meta["kwargs"] == kwargs and meta["version"] == __version__
    assert meta["protocol"] == {"n_train": 200}


def test_evaluate_saves_the_fitted_predictor_with_its_protocol(tmp_path, table):
    rows = evaluate_predictor("xgb", n_train=60, n_test=30, seed=4, predictor_kwargs=TINY_XGB, table=table,
                              save_dir=tmp_path / "saved")
    meta = read_meta(tmp_path / "saved")
    train, test = split(pool_indices(table, "full"), 60, 30, 4)
    assert meta["protocol"]["train_indices"] == train.tolist() and meta["kwargs"]["seed"] == 4
    pred = load_predictor(tmp_path / "saved").predict(table.cells[test])
    truth = table.accuracy("cifar10", "test", fraction=True)[test]
    assert kendalltau(pred, truth)[0] == pytest.approx(rows[0]["kendall"])


def test_persistence_refuses_bad_directories_and_unfitted_predictors(tmp_path):
    with pytest.raises(UserError, match="no saved predictor"):
        load_predictor(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "meta.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read"):
        load_predictor(tmp_path / "junk")
    with pytest.raises(UserError, match="not fitted"):
        save_predictor(get_plugins().predictors.create("xgb"), tmp_path / "x", {"name": "xgb"})
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "meta.json").write_text(json.dumps({"format": 1, "name": "xgb"}))
    (tmp_path / "x" / "predictor.pkl").write_bytes(b"truncated")
    with pytest.raises(UserError, match="cannot load predictor"):
        load_predictor(tmp_path / "x")


def test_ensemble_mean_is_the_member_mean_and_std_is_their_spread(table):
    cells, y = table.cells[:300], table.accuracy("cifar10", "valid", fraction=True)[:300]
    ens = get_plugins().predictors.create("xgb-ensemble", n_models=3, base_kwargs=TINY_XGB, seed=7).fit(cells, y)
    members = np.stack([get_plugins().predictors.create("xgb", seed=7 + i, **TINY_XGB).fit(cells, y).predict(table.cells[300:400])
                        for i in range(3)])
    np.testing.assert_allclose(ens.predict(table.cells[300:400]), members.mean(axis=0), rtol=1e-6)
    std = ens.predict_std(table.cells[300:400])
    np.testing.assert_allclose(std, members.std(axis=0), rtol=1e-5, atol=1e-7)
    assert std.dtype == np.float32 and (std > 0).any()


def test_ensemble_wraps_any_predictor_and_bootstrap_widens_the_spread(table):
    cells, y = table.cells[:200], table.accuracy("cifar10", "valid", fraction=True)[:200]
    plain = get_plugins().predictors.create("ensemble", base="mlp-mse", n_models=2, base_kwargs=TINY_MLP).fit(cells, y)
    assert plain.predict(table.cells[:50]).shape == (50,)
    seeds_only = get_plugins().predictors.create("xgb-ensemble", n_models=3, base_kwargs=TINY_XGB).fit(cells, y)
    bagged = get_plugins().predictors.create("xgb-ensemble", n_models=3, base_kwargs=TINY_XGB, bootstrap=True).fit(cells, y)
    test = table.cells[200:1200]
    assert bagged.predict_std(test).mean() > seeds_only.predict_std(test).mean()


def test_ensemble_refuses_fewer_than_two_members(table):
    with pytest.raises(UserError, match="n_models"):
        get_plugins().predictors.create("xgb-ensemble", n_models=1).fit(table.cells[:50], np.zeros(50, np.float32))


def test_functional_pool_holds_one_cell_per_functional_class(table):
    from nasbench_rank.quality import protocol as evaluation
    from nasbench_rank.spaces import nb201_cell as space

    pool = evaluation.pool_indices(table, "functional")
    keys = [space.functional_key(table.cell_of(i)) for i in pool]
    assert len(pool) == 4930 == len(set(keys))
    everything = {space.functional_key(table.cell_of(i)) for i in range(len(table))}
    assert set(keys) == everything
