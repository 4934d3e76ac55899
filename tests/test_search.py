"""The search protocol: oracle bookkeeping, surrogate modes, strategies, run rows and the run command."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import PluginError, UserError
from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request
from nasbench_rank.loop.runner import run_loop
from nasbench_rank.loop.surrogate import Surrogate
from nasbench_rank.loop.view import SearchView
from nasbench_rank.loop.runs import RUN_COLUMNS, TRACE_COLUMNS, run_search

XGB = {"n_estimators": 10, "max_depth": 3}


class Ordinal:
    """A predictor that knows nothing but counts its fits: scores each cell by its ordinal."""

    fits: list[int] = []

    def fit(self, cells, y):
        Ordinal.fits.append(len(y))
        self.n_ = len(y)
        return self

    def predict(self, cells):
        return (space.as_array(cells) @ (5 ** np.arange(5, -1, -1))).astype(np.float32)


class OracleTable:
    """A predictor that reads the true metric: strategies given it must find the optimum at once."""

    def __init__(self, table, dataset="cifar10", metric="valid"):
        self.values = table.accuracy(dataset, metric, fraction=True)
        self.table = table

    def fit(self, cells, y):
        return self

    def predict(self, cells):
        return self.values[self.table.indices_of(cells)]

    def predict_std(self, cells):
        return np.zeros(len(space.as_array(cells)), dtype=np.float32)


# --- oracle -------------------------------------------------------------------------------------

def test_oracle_returns_metric_fraction_and_answers_repeats_free(table):
    oracle = Oracle(table, "cifar10", "valid")
    cell = table.cell_of(6111)
    first = oracle.evaluate(Request(cell))
    assert first.value == pytest.approx(table.query(6111, "cifar10", "valid") / 100, abs=1e-6)
    assert first.cost == pytest.approx(table.train_seconds("cifar10")[6111])
    again = oracle.evaluate(Request(cell))
    assert again.value == first.value and again.cost == 0.0
    assert oracle.n_evals == 1 and oracle.gpu_seconds == pytest.approx(first.cost)
    assert not hasattr(first, "test")


def test_oracle_ledger_records_test_accuracy_and_cumulative_seconds(table):
    oracle = Oracle(table, "imagenet16", "valid")
    for index in (857, 10676):
        oracle.evaluate(Request(table.cell_of(index)))
    first, second = oracle.ledger
    assert (first.number, first.index, second.index) == (1, 857, 10676)
    assert first.test == pytest.approx(table.query(857, "imagenet16", "test"))
    seconds = table.train_seconds("imagenet16")
    assert second.gpu_seconds == pytest.approx(seconds[857] + seconds[10676])
    assert oracle.best().index == 10676  # best by validation, not by test


def test_oracle_low_fidelity_costs_12_200ths_and_both_fidelities_are_paid(table):
    oracle = Oracle(table, "cifar100", "valid")
    cell = table.cell_of(9930)
    low = oracle.evaluate(Request(cell, 12))
    full = oracle.evaluate(Request(cell, 200))
    seconds = table.train_seconds("cifar100")[9930]
    assert low.cost == pytest.approx(seconds * 12 / 200) and full.cost == pytest.approx(seconds)
    assert low.value == pytest.approx(table.query(9930, "cifar100", "valid", epochs=12) / 100, abs=1e-6)
    assert oracle.n_evals == 2 and oracle.gpu_seconds == pytest.approx(seconds * 212 / 200)
    assert oracle.evaluate(Request(cell, 12)).cost == 0.0 and oracle.best(12).index == 9930


# --- surrogate ----------------------------------------------------------------------------------

def _observed(table, n, dataset="cifar10"):
    """(cells, values) of the cells at benchmark indices 0, 7, 14, ...: a search's observations."""
    idx = np.arange(n) * 7
    return table.cells[idx], table.accuracy(dataset, "valid", fraction=True)[idx]


def test_null_surrogate_never_scores(table):
    surrogate = Surrogate(None)
    surrogate.update(*_observed(table, 10))
    assert surrogate.scorer.score(space.all_cells()[:3]) is None and not surrogate.active


def test_online_surrogate_has_no_model_until_min_fit_then_refits_on_the_searchs_cells(table):
    Ordinal.fits = []
    surrogate = Surrogate(Ordinal, "online", min_fit=5)
    surrogate.update(*_observed(table, 4))
    assert surrogate.scorer.score(space.all_cells()[:2]) is None and Ordinal.fits == []
    surrogate.update(*_observed(table, 6))
    assert surrogate.scorer.score(space.all_cells()[:2]) is not None and Ordinal.fits == [6]


def test_pretrained_surrogate_fits_once_and_stays_frozen(table):
    Ordinal.fits = []
    cells = space.all_cells()[:20]
    surrogate = Surrogate(Ordinal, "pretrained", cells, np.linspace(0, 1, 20, dtype=np.float32))
    surrogate.update(*_observed(table, 30))
    assert Ordinal.fits == [20] and surrogate.n_fits == 1 and surrogate.fit_seconds >= 0


def test_pretrained_online_surrogate_refits_on_union_without_duplicates(table):
    Ordinal.fits = []
    cells, y = _observed(table, 8)
    pre = np.concatenate([cells[:3], space.all_cells()[100:110]])
    surrogate = Surrogate(Ordinal, "pretrained+online", pre, np.full(len(pre), 0.5, dtype=np.float32))
    surrogate.update(cells, y)
    assert Ordinal.fits == [13, 10 + 8]


def test_pretrained_online_maps_other_dataset_labels_onto_the_source_scale(table):
    seen = []

    class Recording(OracleTable):
        def fit(self, cells, y):
            seen.append(np.asarray(y))
            return self

    pre_idx = np.arange(0, 15625, 40)
    source = table.accuracy("cifar10", "valid", fraction=True)
    surrogate = Surrogate(lambda: Recording(table, "cifar10"), "pretrained+online", table.cells[pre_idx],
                          source[pre_idx], same_dataset=False)
    surrogate.update(*_observed(table, 20, dataset="imagenet16"))
    mapped = seen[-1][-20:]
    raw = table.accuracy("imagenet16", "valid", fraction=True)[np.arange(20) * 7]
    assert abs(np.median(raw) - np.median(source)) > 0.3  # the scales differ ...
    assert abs(np.median(mapped) - np.median(source)) < 0.1  # ... and the mapping removes that


def test_surrogate_score_caches_per_cell_until_refit(table):
    calls = []

    class Counting(Ordinal):
        def predict(self, cells):
            calls.append(len(cells))
            return super().predict(cells)

    surrogate = Surrogate(Counting, "online", min_fit=2)
    surrogate.update(*_observed(table, 3))
    cells = space.all_cells()[:50]
    first = surrogate.scorer.score(cells)
    again = surrogate.scorer.score(cells[::-1])
    assert calls == [50] and np.array_equal(again, first[::-1])


def test_surrogate_rejects_unknown_mode():
    with pytest.raises(UserError):
        Surrogate(None, "offline")


# --- strategies ---------------------------------------------------------------------------------

def _strategy_run(table, name, surrogate, budget=30, seed=0, workers=1, **kwargs):
    """Run a registered strategy through the framework's loop on CIFAR-10 valid; the oracle after it."""
    from nasbench_rank.plugins import get_plugins

    oracle = Oracle(table, "cifar10", "valid")
    view = SearchView(np.random.default_rng(seed), surrogate.scorer if surrogate.active else None, workers=workers,
                      evals_left=budget)
    run_loop(get_plugins().searches.create(name, **kwargs), name, oracle, surrogate, view, max_evals=budget,
             max_gpu_hours=None, workers=workers)
    return oracle


@pytest.mark.parametrize("name, kwargs", [
    ("random", {}), ("topk", {}), ("topk", {"pool": "all"}), ("evolution", {"population": 10}),
    ("evolution", {"population": 10, "screen": 5}), ("topk-local", {}), ("ucb", {}),
    ("ucb", {"acquisition": "thompson"}), ("local", {}),
])
def test_every_strategy_spends_exactly_the_budget_on_distinct_cells(table, name, kwargs):
    oracle = _strategy_run(table, name, Surrogate(None), budget=25, **kwargs)
    indices = [e.index for e in oracle.ledger]
    assert len(indices) == 25 and len(set(indices)) == 25


@pytest.mark.parametrize("name, kwargs", [("topk", {"pool": "all", "init": 0}), ("topk-local", {"init": 0}),
                                          ("ucb", {"pool": "all", "init": 0})])
def test_guided_strategies_follow_a_perfect_predictor_to_the_optimum_first(table, name, kwargs):
    surrogate = Surrogate(lambda: OracleTable(table), "pretrained", table.cells[:10], np.zeros(10, np.float32))
    oracle = _strategy_run(table, name, surrogate, budget=5, **kwargs)
    assert oracle.ledger[0].index == 6111


def test_topk_evaluates_the_best_scored_of_its_pool(table):
    surrogate = Surrogate(lambda: OracleTable(table), "pretrained", table.cells[:10], np.zeros(10, np.float32))
    oracle = _strategy_run(table, "topk", surrogate, budget=15, init=10, pool=100, k=5)
    init_best = max(e.value for e in oracle.ledger[:10])
    guided = [e.value for e in oracle.ledger[10:]]
    # the top 5 of 100 random cells sit in the top 5% of the space: far above a random draw's median
    median = float(np.median(table.accuracy("cifar10", "valid", fraction=True)))
    assert min(guided) > median and max(guided) >= init_best - 0.05


def test_evolution_screening_with_a_perfect_predictor_beats_blind_mutation(table):
    perfect = Surrogate(lambda: OracleTable(table), "pretrained", table.cells[:10], np.zeros(10, np.float32))
    screened = [_strategy_run(table, "evolution", perfect, 60, s, population=10, screen=24).best().value for s in range(3)]
    blind = [_strategy_run(table, "evolution", Surrogate(None), 60, s, population=10).best().value for s in range(3)]
    assert np.mean(screened) > np.mean(blind)


def test_local_search_steps_to_neighbours_of_the_incumbent(table):
    oracle = _strategy_run(table, "local", Surrogate(None), budget=40, init=10)
    history = oracle.ledger
    for i in range(10, 40):
        incumbent = max(history[:i], key=lambda e: (e.value, -e.number))
        distance = sum(a != b for a, b in zip(history[i].cell, incumbent.cell))
        assert distance == 1 or all(oracle_is_known(history[:i], m) for m in space.mutations(incumbent.cell))


def test_local_search_with_incumbents_steps_near_one_of_the_best_evaluated(table):
    oracle = _strategy_run(table, "local", Surrogate(None), budget=60, init=10, incumbents=3)
    history = oracle.ledger
    away_from_best = 0
    for i in range(10, 60):
        ranked = sorted(history[:i], key=lambda e: (-e.value, e.number))
        open_ = [e for e in ranked if not all(oracle_is_known(history[:i], m) for m in space.mutations(e.cell))][:3]
        near = [sum(a != b for a, b in zip(history[i].cell, e.cell)) == 1 for e in open_]
        assert any(near)
        away_from_best += not near[0]
    assert away_from_best > 0  # it did step near a runner-up while the best had free neighbours
    one = _strategy_run(table, "local", Surrogate(None), budget=60, init=10, incumbents=1)
    plain = _strategy_run(table, "local", Surrogate(None), budget=60, init=10)
    assert [e.cell for e in one.ledger] == [e.cell for e in plain.ledger]


def test_local_search_refits_only_every_n_evaluations(table):
    Ordinal.fits = []
    _strategy_run(table, "local", Surrogate(Ordinal, "online", min_fit=5, refit_every=10), budget=40, init=10)
    assert Ordinal.fits == [10, 20, 30]


def oracle_is_known(history, cell) -> bool:
    return any(e.cell == tuple(cell) for e in history)


def test_ucb_refuses_a_predictor_without_std_before_any_fit(table):
    with pytest.raises(UserError, match="predict_std"):
        run_search("xgb", "ucb", mode="online", budget=20, predictor_kwargs=XGB, table=table)


@pytest.mark.parametrize("name, kwargs", [("topk", {"pool": "some"}), ("topk-local", {"local": 9, "k": 5}),
                                          ("topk", {"k": "abc"}), ("evolution", {"population": 2.5}),
                                          ("ucb", {"acquisition": "greedy"}), ("local", {"radius": 0}),
                                          ("local", {"incumbents": 0})])
def test_bad_strategy_settings_are_user_errors_when_built(name, kwargs):
    from nasbench_rank.plugins import get_plugins

    with pytest.raises(UserError):
        get_plugins().searches.create(name, **kwargs)


# --- run_search -----------------------------------------------------------------------------------

def test_run_search_row_and_trace_follow_the_protocol(table):
    run, trace = run_search("xgb", "topk", dataset="cifar10", metric="test", budget=20, n_train=50, seed=3,
                            predictor_kwargs=XGB, table=table)
    assert list(run)[:len(RUN_COLUMNS)] == list(RUN_COLUMNS) and all(list(r) == list(TRACE_COLUMNS) for r in trace)
    # after the protocol's columns, only the regret columns of its marks and eps (loop.regret)
    assert all(c.startswith(("regret_at_", "test_regret_at_", "evals_to_hit_", "evals_to_identify_"))
               for c in list(run)[len(RUN_COLUMNS):])
    assert run["evals"] == 20 and len(trace) == 20 and [r["eval"] for r in trace] == list(range(1, 21))
    assert run["pretrain_evals"] == 50 and run["pretrain_same_dataset"] is True and run["source"] == "cifar10"
    best = max(trace, key=lambda r: (r["value"], -r["eval"]))
    assert (run["best_index"], run["best_test"]) == (best["index"], best["test"])
    assert trace[-1]["best_test"] == run["best_test"]
    assert np.all(np.diff([r["best_value"] for r in trace]) >= 0)
    assert np.all(np.diff([r["gpu_hours"] for r in trace]) > 0)
    assert run["gpu_hours"] == pytest.approx(trace[-1]["gpu_hours"])
    assert run["optimum_metric"] == pytest.approx(table.optimum("cifar10", "test")[1])
    assert run["fit_seconds_total"] > 0 and run["n_fits"] == 1 and run["search_seconds_excl_fit"] >= 0


def test_evals_to_optimum_counts_the_evaluation_that_found_it(table):
    from nasbench_rank.plugins import Entry, get_plugins

    registry = get_plugins().predictors
    registry.add(Entry("perfect-test-only", "predictor", lambda: OracleTable(table, "imagenet16", "valid"), "tests", ""))
    try:
        run, trace = run_search("perfect-test-only", "topk", dataset="imagenet16", budget=12, n_train=20,
                                search_kwargs={"init": 3, "pool": "all"}, table=table,
                                isolation="in-process")  # an oracle predictor, by design
    finally:
        del registry._entries["perfect-test-only"]
    # three random cells, then the first guided pick is the validation optimum 10676
    assert run["evals_to_optimum"] == 4 and run["reached_optimum"] and trace[3]["index"] == 10676
    assert run["optimum_test"] == pytest.approx(table.query(10676, "imagenet16", "test"))
    assert run["best_index"] == 10676


def test_censored_runs_report_nan_and_false(table):
    run, _ = run_search(None, "random", dataset="cifar100", budget=5, seed=1, table=table)
    assert run["reached_optimum"] is False and math.isnan(run["evals_to_optimum"])
    assert run["mode"] == "none" and run["pretrain_evals"] == 0 and run["n_fits"] == 0


def test_online_mode_has_no_pretraining_cost(table):
    run, _ = run_search("xgb", "topk", mode="online", budget=20, predictor_kwargs=XGB, table=table)
    assert run["pretrain_evals"] == 0 and run["source"] == "" and run["n_fits"] == 2  # after 10 and 15 cells


def test_zero_shot_transfer_reports_source_pretraining(table):
    run, _ = run_search("xgb", "topk", dataset="imagenet16", budget=15, n_train=30, predictor_kwargs=XGB, table=table)
    assert run["pretrain_evals"] == 30 and run["pretrain_same_dataset"] is False and run["source"] == "cifar10"


def test_same_seed_same_run(table):
    a, _ = run_search("xgb", "topk-local", budget=20, n_train=30, seed=7, predictor_kwargs=XGB, table=table)
    b, _ = run_search("xgb", "topk-local", budget=20, n_train=30, seed=7, predictor_kwargs=XGB, table=table)
    c, _ = run_search("xgb", "topk-local", budget=20, n_train=30, seed=8, predictor_kwargs=XGB, table=table)
    keys = ("best_index", "evals_to_threshold", "gpu_hours")
    assert [a[k] for k in keys] == [b[k] for k in keys] and a["gpu_hours"] != c["gpu_hours"]


@pytest.mark.parametrize("args, kwargs, error", [
    (("nope", "topk"), {}, PluginError),
    (("xgb", "nope"), {}, PluginError),
    ((None, "random"), {"mode": "online"}, UserError),
    ((None, "random"), {"loss": "rank"}, UserError),
    (("xgb", "topk"), {"budget": 5}, UserError),
    (("xgb", "topk"), {"mode": "sometimes"}, UserError),
    (("xgb", "topk"), {"metric": "train"}, UserError),
    (("xgb", "topk"), {"dataset": "mnist"}, UserError),
    (("xgb", "topk"), {"loss": "nope"}, PluginError),
    (("xgb", "topk"), {"predictor_kwargs": {"bogus": 1}}, PluginError),
    (("xgb", "topk"), {"predictor_kwargs": {"bogus": 1}, "mode": "online"}, PluginError),
])
def test_run_search_rejects_bad_input(table, args, kwargs, error):
    with pytest.raises(error):
        run_search(*args, table=table, n_train=20, **kwargs)


# --- nasbench-rank run ----------------------------------------------------------------------------

def _invoke(args):
    from click.testing import CliRunner

    from nasbench_rank.cli import cli

    return CliRunner().invoke(cli, args)


def test_run_command_prints_each_seed_and_writes_tidy_csvs(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["run", "--predictor", "xgb", "--search", "topk", "--budget", "15", "--seeds", "2",
                      "--seed-start", "4", "--n-train", "30", "--metric", "test", "--out-dir", str(out),
                      "--set", "n_estimators=5", "--set", "max_depth=2", "--search-set", "pool=all"])
    assert result.exit_code == 0, result.output
    assert "seed 4: best test" in result.output and "seed 5: best test" in result.output
    assert "overall (2 seeds)" in result.output
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    with open(out / "trace.csv") as fh:
        trace = list(csv.DictReader(fh))
    assert [r["seed"] for r in runs] == ["4", "5"] and len(trace) == 30
    assert runs[0]["predictor_kwargs"] == "max_depth=2;n_estimators=5" and runs[0]["search_kwargs"] == "pool=all"
    assert {r["metric"] for r in trace} == {"test"} and not list(out.glob(".*tmp"))


@pytest.mark.parametrize("args, message", [
    (["--predictor", "nope"], "unknown predictor 'nope'"),
    (["--search", "topkk"], "Did you mean 'topk'"),
    (["--search", "random", "--mode", "online"], "needs --predictor"),
    (["--predictor", "xgb", "--budget", "4"], "smaller than"),
    (["--predictor", "xgb", "--set", "n_estimators"], "key=value"),
    (["--predictor", "xgb", "--dataset", "svhn"], "unknown dataset"),
])
def test_run_command_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--out-dir", str(tmp_path), *args])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert message in lines[-1] and lines[-1].startswith("error:") and not (tmp_path / "runs.csv").exists()


def test_parse_value_types():
    from nasbench_rank.cli.run import parse_value

    assert [parse_value(v) for v in ("3", "0.5", "true", "all", "none")] == [3, 0.5, True, "all", None]


def test_one_pretraining_serves_searches_on_every_target_with_identical_results(table, monkeypatch):
    from nasbench_rank.predictors import fit_cache

    monkeypatch.setattr(fit_cache, "_MEMORY", fit_cache.OrderedDict())
    args = dict(mode="pretrained", budget=20, metric="test", seed=3, n_train=100, predictor_kwargs=XGB, table=table)
    first, _ = run_search("xgb", "topk", dataset="cifar100", **args)
    reused, trace = run_search("xgb", "topk", dataset="imagenet16", **args)
    assert len(fit_cache._MEMORY) == 1
    assert reused["fit_seconds_total"] == first["fit_seconds_total"]  # the one fit's cost, reported by both
    fit_cache.clear_memory()
    fresh, fresh_trace = run_search("xgb", "topk", dataset="imagenet16", **args)
    assert [r["index"] for r in trace] == [r["index"] for r in fresh_trace]
    assert reused["best_test"] == fresh["best_test"]


def test_pretrained_fits_are_shared_through_the_disk_cache(table, monkeypatch, tmp_path):
    from nasbench_rank.predictors import fit_cache

    monkeypatch.setattr(fit_cache, "_MEMORY", fit_cache.OrderedDict())
    monkeypatch.setenv(fit_cache.CACHE_ENV, str(tmp_path))
    args = dict(mode="pretrained", budget=15, metric="test", seed=4, n_train=60, predictor_kwargs=XGB, table=table)
    first, first_trace = run_search("xgb", "topk", dataset="cifar10", **args)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1 and not list(tmp_path.glob("*.pkl"))
    fit_cache.clear_memory()  # as a fresh worker process: only the disk copy is left
    again, again_trace = run_search("xgb", "topk", dataset="cifar10", **args)
    assert again["fit_seconds_total"] == first["fit_seconds_total"]
    assert [r["index"] for r in again_trace] == [r["index"] for r in first_trace]


def test_run_command_keeps_finished_seeds_when_a_later_seed_fails(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from nasbench_rank.loop import runs as search_module
    from nasbench_rank.cli import cli

    real = search_module.run_search

    def failing_second_seed(*args, seed, **kwargs):
        if seed == 1:
            raise UserError("simulated failure in seed 1")
        return real(*args, seed=seed, **kwargs)

    monkeypatch.setattr(search_module, "run_search", failing_second_seed)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--predictor", "xgb", "--search", "random", "--mode", "pretrained",
                                      "--budget", "12", "--n-train", "20", "--seeds", "2", "--set", "n_estimators=5",
                                      "--out-dir", str(out)])
    assert result.exit_code != 0
    with open(out / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["seed"] for r in rows] == ["0"]


def test_run_command_refuses_unknown_names_before_starting_a_seed(tmp_path):
    from click.testing import CliRunner

    from nasbench_rank.cli import cli

    result = CliRunner().invoke(cli, ["run", "--predictor", "xgb", "--search", "bogus", "--out-dir", str(tmp_path)])
    assert result.exit_code != 0 and "unknown search 'bogus'" in str(result.exception)
    assert "seed 0" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--seed-start", "-1"], "--seed-start"),
    (["--search-set", "k=abc"], "k must be int, got 'abc'"),
    (["--predictor", "xgb", "--set", "n_estimators=abc"], "n_estimators must be int, got 'abc'"),
    (["--search", "random", "--budget", "20000"], "15,625"),
    (["--search", "random", "--gpu-hours", "0"], "--gpu-hours"),
    (["--search", "random", "--workers-sim", "0"], "--workers-sim"),
])
def test_run_command_refuses_bad_values_in_one_line_before_fitting(tmp_path, capsys, monkeypatch, args, message):
    from nasbench_rank.loop import runs as search_module
    from nasbench_rank.cli import main

    monkeypatch.setattr(search_module, "run_search", lambda *a, **k: pytest.fail("a seed started"))
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--out-dir", str(tmp_path), *args])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and not (tmp_path / "runs.csv").exists()


def test_run_command_merges_into_earlier_files_and_a_rerun_seed_replaces_its_rows(tmp_path):
    out = tmp_path / "run"
    base = ["run", "--search", "random", "--budget", "6", "--out-dir", str(out)]
    assert _invoke(base + ["--seeds", "2"]).exit_code == 0
    assert _invoke(base + ["--dataset", "cifar100"]).exit_code == 0
    again = _invoke(base + ["--seed-start", "1"])
    assert again.exit_code == 0, again.output
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    with open(out / "trace.csv") as fh:
        trace = list(csv.DictReader(fh))
    assert sorted((r["dataset"], r["seed"]) for r in runs) == [("cifar10", "0"), ("cifar10", "1"), ("cifar100", "0")]
    assert len(trace) == 18 and all(r["space"] == "nb201" and len(r["table_sha256"]) == 64 for r in runs + trace)
    assert "(mean ± sd over 1 seeds)" in again.output


def test_run_command_exits_1_without_a_row_when_a_strategy_breaks_the_protocol(tmp_path, capsys):
    from nasbench_rank.cli import main
    from nasbench_rank.plugins import Entry, get_plugins

    class Outside:
        def ask(self, view, n):
            return [(9, 9, 9, 9, 9, 9)]

        def tell(self, view, observations):
            pass

    registry = get_plugins().searches
    registry.add(Entry("outside-test-only", "search", Outside, "tests", ""))
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "--search", "outside-test-only", "--out-dir", str(tmp_path), "--in-process"])
    finally:
        del registry._entries["outside-test-only"]
    assert exit_info.value.code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "'outside-test-only' proposed a cell outside the space" in last and not (tmp_path / "runs.csv").exists()


def test_run_command_budget_in_gpu_hours_alone(tmp_path):
    out = tmp_path / "run"
    result = _invoke(["run", "--search", "random", "--gpu-hours", "1.5", "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    with open(out / "runs.csv") as fh:
        row = next(csv.DictReader(fh))
    assert row["budget"] == "" and float(row["gpu_hours"]) <= 1.5 and row["gpu_hours_budget"] == "1.5"


def test_predictor_is_seeded_with_the_runs_seed_when_it_has_a_seed_setting():
    from nasbench_rank.loop.runs import seeded

    class WithParams:
        def __init__(self, seed=0, depth=3):
            self.seed, self.depth = seed, depth

        def get_params(self, deep=True):
            return {"seed": self.seed, "depth": self.depth}

        def set_params(self, **params):
            for k, v in params.items():
                setattr(self, k, v)
            return self

    assert seeded(WithParams(), 7, {}).seed == 7
    assert seeded(WithParams(seed=3), 7, {"seed": 3}).seed == 3  # set explicitly by the user: kept
    plain = Ordinal()
    assert seeded(plain, 7, {}) is plain  # no get_params: left alone


def test_skip_twins_never_pays_twice_for_one_function(table):
    oracle = _strategy_run(table, "local", Surrogate(None), budget=60, seed=4, skip_twins=True)
    keys = [space.functional_key(e.cell) for e in oracle.ledger[10:]]  # the random start may hold twins
    known = {space.functional_key(e.cell) for e in oracle.ledger[:10]}
    assert len(keys) == 50 and len(set(keys)) == 50 and not set(keys) & known
    plain = _strategy_run(table, "local", Surrogate(None), budget=60, seed=4)
    plain_keys = [space.functional_key(e.cell) for e in plain.ledger]
    assert len(set(plain_keys)) < len(plain_keys)  # without it, twins are paid for


def test_run_on_another_table_says_so_once_and_keeps_both_tables_rows(tmp_path, table):
    other = tmp_path / "other.csv"
    frame = table.df.copy()
    frame.loc[0, "cifar10_valid"] = frame.loc[0, "cifar10_valid"] - 0.01
    frame.to_csv(other, index=False)
    out = tmp_path / "run"
    args = ["run", "--search", "random", "--budget", "5", "--out-dir", str(out)]
    assert _invoke(args).exit_code == 0
    result = _invoke(args + ["--data", str(other)])
    assert result.exit_code == 0, result.output
    assert result.output.count("not the published one") == 1
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 2 and {r["table_verified"] for r in runs} == {"True", "False"}
