"""Searches on every space: NAS-Bench-Graph (cora, and the 5-op proteins subspace) and FCNet (a metric
where lower is better), with and without a predictor that takes the space; the noisy oracle; the
`run` command's refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_rank import spaces
from nasbench_rank.errors import UserError
from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request, StrategyError
from nasbench_rank.loop.strategy import Strategy
from nasbench_rank.plugins import Entry, get_plugins
from nasbench_rank.loop.runs import run_search
from space_predictor import registered

pytest.importorskip("nas_bench_graph")

DATASETS = [("nbgraph", "cora"), ("nbgraph", "proteins"), ("fcnet", "naval_propulsion")]
STRATEGIES = [("random", {}), ("topk", {}), ("topk-local", {"local": 2}), ("local", {}), ("evolution", {}),
              ("topk-local", {"local": 2, "skip_twins": True})]


@pytest.fixture(scope="module")
def benchmarks():
    return {name: spaces.load(name) for name in ("nbgraph", "fcnet")}


@pytest.fixture(scope="module")
def ridge():
    with registered() as name:
        yield name


def _check_run(bm, dataset, run, trace, budget):
    space = bm.space_of(dataset)
    metric = bm.metric(run["metric"])
    values = bm.values(dataset, run["metric"])
    assert run["space"] == bm.name and run["dataset"] == dataset and run["evals"] == budget == len(trace)
    assert run["direction"] == metric.direction
    ordinals = [r["index"] for r in trace]
    assert len(set(ordinals)) == budget and all(0 <= o < space.size for o in ordinals)
    for r in trace:  # every value is the metric itself, in its own units, of the element evaluated
        assert r["value"] == pytest.approx(values[r["index"]], rel=1e-12)
    best = [r["best_value"] for r in trace]
    steps = np.diff(metric.utility(np.asarray(best)))
    assert np.all(steps >= 0)  # best-so-far only improves, by the metric's direction
    best = values[ordinals][metric.best_index(values[ordinals])]
    assert run["best_metric"] == pytest.approx(best)
    assert metric.utility(run["best_metric"]) <= metric.utility(run["optimum_metric"]) + 1e-12
    if bm.cost_unit == "evaluations":
        assert math.isnan(run["gpu_hours"]) and math.isnan(trace[-1]["gpu_hours"]) and "evaluation" in run["cost_model"]
    else:
        assert run["gpu_hours"] > 0 and run["cost_model"] == "train_seconds"


@pytest.mark.parametrize("space_name, dataset", DATASETS)
@pytest.mark.parametrize("search, kwargs", STRATEGIES)
def test_each_strategy_searches_each_space(benchmarks, space_name, dataset, search, kwargs):
    bm = benchmarks[space_name]
    run, trace = run_search(None, search, dataset=dataset, budget=30, seed=3, search_kwargs=kwargs, table=bm)
    _check_run(bm, dataset, run, trace, 30)


@pytest.mark.parametrize("space_name, dataset", DATASETS)
@pytest.mark.parametrize("search, kwargs", [("topk", {}), ("topk-local", {"local": 2}), ("local", {}),
                                            ("evolution", {"screen": 5}), ("ucb", {})])
def test_each_strategy_searches_each_space_with_a_predictor(benchmarks, ridge, space_name, dataset, search, kwargs):
    bm = benchmarks[space_name]
    run, trace = run_search(ridge, search, dataset=dataset, mode="online", budget=30, seed=3, search_kwargs=kwargs,
                            table=bm)
    _check_run(bm, dataset, run, trace, 30)
    assert run["n_fits"] > 0 and run["mode"] == "online"


def test_pretrained_predictor_on_another_dataset_of_the_space(benchmarks, ridge):
    bm = benchmarks["nbgraph"]
    run, trace = run_search(ridge, "topk", dataset="proteins", source="cora", n_train=40, budget=20, seed=1, table=bm)
    _check_run(bm, "proteins", run, trace, 20)
    assert run["pretrain_evals"] == 40 and run["source"] == "cora" and math.isnan(run["pretrain_gpu_hours"])


def test_optuna_searches_a_space_whose_positions_do_not_all_combine(benchmarks):
    pytest.importorskip("optuna")
    bm = benchmarks["nbgraph"]
    run, trace = run_search(None, "optuna", dataset="cora", budget=20, seed=0, search_kwargs={"startup": 5}, table=bm)
    _check_run(bm, "cora", run, trace, 20)


def test_skip_twins_is_a_no_op_without_an_equivalence(benchmarks):
    bm = benchmarks["fcnet"]
    plain, _ = run_search(None, "topk-local", dataset="naval", budget=25, seed=4, table=bm, search_kwargs={"local": 2})
    twins, _ = run_search(None, "topk-local", dataset="naval", budget=25, seed=4, table=bm,
                          search_kwargs={"local": 2, "skip_twins": True})
    assert [plain[c] for c in ("best_index", "best_metric")] == [twins[c] for c in ("best_index", "best_metric")]


def test_skip_twins_never_evaluates_two_members_of_a_class(benchmarks):
    bm = benchmarks["nbgraph"]
    _, trace = run_search(None, "topk-local", dataset="cora", budget=40, seed=2, table=bm,
                          search_kwargs={"local": 2, "skip_twins": True})
    group = bm.space.classes()[0]
    classes = [int(group[r["index"]]) for r in trace]
    assert len(set(classes)) == len(classes)


def test_a_min_metric_search_reports_the_metric_itself_and_it_decreases(benchmarks):
    bm = benchmarks["fcnet"]
    run, trace = run_search(None, "local", dataset="naval_propulsion", budget=60, seed=0, table=bm)
    best = np.asarray([r["best_value"] for r in trace])
    assert np.all(best > 0) and np.all(np.diff(best) <= 0) and best[-1] < best[0]
    assert run["direction"] == "min" and run["best_metric"] == best[-1] >= run["optimum_metric"] > 0
    assert run["report_metric"] == "valid" and run["best_test"] == pytest.approx(run["best_metric"])
    threshold = bm.threshold("naval_propulsion")
    reached = [r["eval"] for r in trace if r["best_test"] <= threshold]
    assert (run["evals_to_threshold"] == reached[0]) if reached else math.isnan(run["evals_to_threshold"])


def test_the_default_threshold_is_the_best_tenth_of_a_percent(benchmarks):
    for bm, dataset in ((benchmarks["nbgraph"], "cora"), (benchmarks["fcnet"], "slice")):
        metric = "test" if "test" in bm.metrics else "valid"
        values = bm.values(dataset, metric)
        t = bm.threshold(dataset)
        better = values >= t if bm.metric(metric).direction == "max" else values <= t
        assert better.sum() >= math.ceil(len(values) / 1000) > 0
        assert better.sum() <= math.ceil(len(values) / 1000) + 10  # ties only
    nb201 = spaces.load("nb201")
    assert [nb201.threshold(d) for d in ("cifar10", "cifar100", "imagenet16")] == [94.0, 73.0, 46.0]


def test_evals_to_optimum_counts_the_optimum_ties(benchmarks):
    bm = benchmarks["fcnet"]
    opt = bm.optimum("naval_propulsion", "valid")

    class Straight(Strategy):
        def ask(self, view, n):
            return [tuple(int(v) for v in view.space.element(o)) for o in (7, 11, opt.ordinal, 13)]

    registry = get_plugins().searches
    registry.add(Entry("straight-test-only", "search", Straight, "tests", ""))
    try:
        run, _ = run_search(None, "straight-test-only", dataset="naval_propulsion", budget=4, table=bm,
                            isolation="in-process")  # a class defined in the test: not importable elsewhere
    finally:
        del registry._entries["straight-test-only"]
    assert run["evals_to_optimum"] == 3 and run["best_index"] == opt.ordinal and run["optimum_metric"] == opt.value


# --- the noisy oracle ---------------------------------------------------------------------------------

def test_the_seed_oracle_is_reproducible_and_differs_from_the_mean(benchmarks):
    bm = benchmarks["fcnet"]
    args = dict(dataset="naval_propulsion", budget=30, table=bm)
    a_run, a = run_search(None, "random", seed=5, oracle="seed", **args)
    b_run, b = run_search(None, "random", seed=5, oracle="seed", **args)
    mean_run, mean = run_search(None, "random", seed=5, **args)
    assert [r["value"] for r in a] == [r["value"] for r in b] and a_run["oracle"] == "seed"
    assert mean_run["oracle"] == "mean" and a[0]["oracle"] == "seed"
    assert [r["index"] for r in a] == [r["index"] for r in mean]  # random search ignores the values
    per_seed = bm.per_seed("naval_propulsion", "valid")
    for r, m in zip(a, mean):
        seeds = per_seed[r["index"]]
        assert np.any(np.isclose(seeds, r["value"], rtol=1e-12))  # one training seed's result
        assert m["value"] == pytest.approx(np.nanmean(seeds))
    assert sum(r["value"] != m["value"] for r, m in zip(a, mean)) > 20
    c_run, c = run_search(None, "random", seed=6, oracle="seed", **args)
    assert [r["value"] for r in c] != [r["value"] for r in a]


def test_the_seed_oracle_skips_missing_seeds():
    bm = spaces.load("fcnet")
    oracle = Oracle(bm, "naval_propulsion", noise="seed", rng=np.random.default_rng(0))
    oracle._seeds = oracle._seeds.copy()
    oracle._seeds[0, [0, 1, 3]] = np.nan
    element = tuple(int(v) for v in bm.space.element(0))
    assert oracle.evaluate(Request(element)).value == oracle._seeds[0, 2]


def test_the_seed_oracle_needs_per_seed_results(benchmarks):
    with pytest.raises(UserError, match="no per-seed results"):
        run_search(None, "random", dataset="cora", budget=5, oracle="seed", table=benchmarks["nbgraph"])
    with pytest.raises(UserError, match="unknown oracle"):
        run_search(None, "random", dataset="cora", budget=5, oracle="median", table=benchmarks["nbgraph"])


# --- fidelities and budgets ---------------------------------------------------------------------------

class LowFidelity(Strategy):
    def ask(self, view, n):
        return [Request(tuple(int(v) for v in view.space.sample(view.rng, 1)[0]), 12)]


def test_a_low_fidelity_request_on_a_one_fidelity_space_is_a_strategy_error(benchmarks):
    registry = get_plugins().searches
    registry.add(Entry("low-test-only", "search", LowFidelity, "tests", ""))
    try:
        with pytest.raises(StrategyError, match="one fidelity only") as info:
            run_search(None, "low-test-only", dataset="cora", budget=5, table=benchmarks["nbgraph"])
    finally:
        del registry._entries["low-test-only"]
    assert "\n" not in str(info.value) and "'low-test-only'" in str(info.value)


@pytest.mark.parametrize("search", ["halving", "halving-local"])
def test_halving_is_refused_up_front_on_a_one_fidelity_space(benchmarks, search):
    with pytest.raises(UserError, match="needs the 12-epoch fidelity"):
        run_search(None, search, dataset="naval", budget=30, table=benchmarks["fcnet"])


def test_gpu_hours_are_refused_on_a_space_priced_in_evaluations(benchmarks):
    with pytest.raises(UserError, match="no training times"):
        run_search(None, "random", dataset="cora", budget=None, gpu_hours=1.0, table=benchmarks["nbgraph"])
    run, _ = run_search(None, "random", dataset="naval", budget=None, gpu_hours=0.05, table=benchmarks["fcnet"])
    assert 0 < run["gpu_hours"] <= 0.05


def test_dataset_names_find_their_space():
    run, _ = run_search(None, "random", dataset="ogbn-proteins", budget=3)
    assert (run["space"], run["dataset"]) == ("nbgraph", "proteins")
    with pytest.raises(UserError, match="unknown dataset 'svhn'"):
        run_search(None, "random", dataset="svhn", budget=3)
    with pytest.raises(UserError, match="of space 'fcnet'"):
        run_search(None, "random", dataset="cora", space="fcnet", budget=3)


# --- the run command ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--dataset", "cora", "--gpu-hours", "1"], "no training times"),
    (["--dataset", "cora", "--oracle", "seed"], "no per-seed results"),
    (["--dataset", "cora", "--search", "halving"], "needs the 12-epoch fidelity"),
    (["--space", "nope", "--dataset", "cora"], "unknown space 'nope'"),
    (["--space", "fcnet", "--dataset", "cora"], "unknown dataset 'cora' of space 'fcnet'"),
    (["--space", "fcnet", "--dataset", "naval", "--metric", "test"], "unknown metric 'test'"),
    (["--space", "fcnet", "--dataset", "naval", "--data", "x.csv"], "--data is a NAS-Bench-201 table"),
    (["--dataset", "naval", "--oracle", "median"], "'median' is not one of"),
])
def test_run_refuses_bad_combinations_in_one_line(tmp_path, capsys, args, message):
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--out-dir", str(tmp_path), "--budget", "5", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and not (tmp_path / "runs.csv").exists()


def test_run_on_a_min_metric_space_prints_by_direction(tmp_path, capsys):
    import pandas as pd

    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--dataset", "naval", "--search", "local", "--budget", "25", "--oracle", "seed", "--seeds", "2",
              "--out-dir", str(tmp_path)])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "mean over seeds" in out and "lower is better" in out and "to valid <= " in out and "oracle seed" in out and "GPU-hours" in out
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["space"]) == ["fcnet"] * 2 and list(runs["oracle"]) == ["seed"] * 2
    assert set(runs["direction"]) == {"min"} and (runs["best_metric"] > 0).all()


def test_the_space_view_keeps_the_nb201_names_on_every_space(benchmarks):
    from nasbench_rank.loop.view import SpaceView

    for space in (benchmarks["nbgraph"].space, benchmarks["nbgraph"].space_of("proteins"), benchmarks["fcnet"].space):
        view = SpaceView(space)
        element = tuple(int(v) for v in space.element(123))
        assert view.n_cells == view.size == space.size and view.all_cells().shape == (space.size, space.width)
        assert view.mutations(element) == view.neighbours(element) == space.neighbours(element)
        assert view.to_ordinal(element) == 123 and view.from_ordinal(123) == element
        assert view.format_cell(element) == space.format(element)
        assert view.has_equivalence == space.has_equivalence and not hasattr(view, "n_edges")
        with pytest.raises(ValueError):
            view.validate((99,) * space.width)
    nb201 = SpaceView()
    assert (nb201.name, nb201.n_edges, nb201.n_ops, nb201.n_cells) == ("nb201", 6, 5, 15625)


def test_fit_cache_keys_name_the_space(benchmarks, ridge, monkeypatch):
    import nasbench_rank.loop.runs as search

    keys = []
    real = search.cached_fit

    def spy(key, fit, sha, make=None):
        keys.append(key)
        return real(key, fit, sha, make=make)

    monkeypatch.setattr(search, "cached_fit", spy)
    # in-process: a third-party predictor in its own process fits for each run, without the cache
    run_search(ridge, "topk", dataset="cora", n_train=30, budget=12, seed=0, table=benchmarks["nbgraph"],
               isolation="in-process")
    run_search(ridge, "topk", dataset="naval", n_train=30, budget=12, seed=0, table=benchmarks["fcnet"],
               isolation="in-process")
    assert [k[2] for k in keys] == ["nbgraph", "fcnet"] and keys[0][3] == "cora"
