"""The loop the framework runs: protocol errors, budgets, fidelities, simulated workers, refit schedule."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import UserError
from nasbench_rank.loop import PredictionError, Request, Strategy, StrategyError
from nasbench_rank.loop.clock import Clock
from nasbench_rank.loop.surrogate import Surrogate
from nasbench_rank.plugins import Entry, get_plugins
from nasbench_rank.loop.runs import run_search

# These tests drive the loop with strategies set up at run time (closures, class attributes): in-process.
run_search = functools.partial(run_search, isolation="in-process")

XGB = {"n_estimators": 5, "max_depth": 2}


class Scripted(Strategy):
    """Proposes what `script(view, n)` returns; records what it was told."""

    script = staticmethod(lambda view, n: [])
    told: list = []

    def ask(self, view, n):
        return type(self).script(view, n)

    def tell(self, view, observations):
        type(self).told.extend(observations)


@pytest.fixture
def scripted():
    registry = get_plugins().searches
    registry.add(Entry("scripted-test-only", "search", Scripted, "tests", ""))
    Scripted.told = []
    yield Scripted
    del registry._entries["scripted-test-only"]


def _random_cells(view, n):
    free = np.flatnonzero(~view.evaluated_mask())
    picks = view.rng.choice(free, size=min(n, view.evals_left if view.evals_left is not None else n), replace=False)
    return [tuple(int(v) for v in view.space.all_cells()[i]) for i in picks]


# --- bad proposals -------------------------------------------------------------------------------

@pytest.mark.parametrize("proposal, message", [
    (lambda view, n: [(0, 1, 2, 3, 4, 5)], "outside the space"),
    (lambda view, n: [(0, 1, 2)], "outside the space"),
    (lambda view, n: ["|nor_conv_3x3~0|"], "not a cell"),
    (lambda view, n: [(0.5, 1, 2, 3, 4, 0)], "not a cell"),
    (lambda view, n: 42, "not a list of requests"),
    (lambda view, n: [Request((0, 0, 0, 0, 0, 0), fidelity=50)], "fidelity 50"),
    (lambda view, n: [tuple(c) for c in view.space.all_cells()[:6]], "6 new evaluations with 5 left"),
    (lambda view, n: [(1, 1, 1, 1, 1, 1), (1, 1, 1, 1, 1, 1)], "still pending"),
])
def test_a_strategy_breaking_the_protocol_stops_the_run_naming_the_plugin(table, scripted, proposal, message):
    scripted.script = staticmethod(proposal)
    with pytest.raises(StrategyError, match=message) as info:
        run_search(None, "scripted-test-only", budget=5, table=table)
    assert "'scripted-test-only'" in str(info.value) and "\n" not in str(info.value) and info.value.exit_code == 1


def test_a_proposal_after_the_budget_is_spent_is_refused(table, scripted):
    scripted.script = staticmethod(lambda view, n: [tuple(c) for c in view.space.sample(view.rng, 3)])
    with pytest.raises(StrategyError, match="3 new evaluations with 2 left"):
        run_search(None, "scripted-test-only", budget=5, table=table)


def test_a_strategy_that_only_repeats_itself_is_stopped(table, scripted):
    scripted.script = staticmethod(lambda view, n: [(1, 2, 3, 1, 2, 3)])
    with pytest.raises(StrategyError, match="already evaluated"):
        run_search(None, "scripted-test-only", budget=5, table=table)


def test_repeats_are_free_and_answered(table, scripted):
    calls = []

    def script(view, n):
        calls.append(len(view.observations))
        return [(1, 2, 3, 1, 2, 3)] if len(calls) < 3 else _random_cells(view, n)

    scripted.script = staticmethod(script)
    run, trace = run_search(None, "scripted-test-only", budget=4, table=table)
    assert run["evals"] == 4 and len(trace) == 4
    assert [o.cost == 0 for o in scripted.told[:2]] == [False, True]


def test_an_empty_proposal_ends_the_run_early(table, scripted):
    scripted.script = staticmethod(lambda view, n: _random_cells(view, n) if len(view.observations) < 3 else [])
    run, trace = run_search(None, "scripted-test-only", budget=10, table=table)
    assert run["evals"] == 3 and len(trace) == 3


# --- predictions --------------------------------------------------------------------------------

class NaNPredictor:
    def fit(self, cells, y):
        return self

    def predict(self, cells):
        return np.full(len(cells), np.nan, dtype=np.float32)


def test_non_finite_predictions_stop_the_run_naming_the_predictor(table):
    registry = get_plugins().predictors
    registry.add(Entry("nan-test-only", "predictor", NaNPredictor, "tests", ""))
    try:
        with pytest.raises(PredictionError, match="predictor 'nan-test-only'.*non-finite"):
            run_search("nan-test-only", "topk", mode="online", budget=20, table=table)
    finally:
        del registry._entries["nan-test-only"]


def test_online_predictor_is_fitted_even_when_the_strategy_never_scores(table):
    run, _ = run_search("xgb", "random", mode="online", budget=12, predictor_kwargs=XGB, table=table)
    assert run["n_fits"] == 12 - 5 + 1 - 1  # before each ask from the 5th observation on (asks at 5..11)


def test_std_without_predict_std_is_a_clear_error(table, scripted):
    def script(view, n):
        view.std(view.space.all_cells()[:3])
        return []

    scripted.script = staticmethod(script)
    with pytest.raises(UserError, match="'xgb' has no predict_std"):
        run_search("xgb", "scripted-test-only", budget=5, n_train=20, predictor_kwargs=XGB, table=table)


class Warm:
    """A predictor with partial_fit that records how it was trained."""

    log: list = []

    def fit(self, cells, y):
        Warm.log.append(("fit", len(y)))
        return self

    def partial_fit(self, cells, y):
        Warm.log.append(("partial_fit", len(y)))
        return self

    def predict(self, cells):
        return space.ordinals(cells).astype(np.float32)


def test_warm_starts_between_full_refits_on_the_whole_grown_set(table):
    Warm.log = []
    surrogate = Surrogate(Warm, "online", min_fit=2, refit_every=4, warm_every=1)
    cells = table.cells[:12]
    y = np.linspace(0, 1, 12, dtype=np.float32)
    for n in (2, 3, 4, 5, 6, 7, 8):
        surrogate.update(cells[:n], y[:n])
    assert Warm.log == [("fit", 2), ("partial_fit", 3), ("partial_fit", 4), ("partial_fit", 5), ("fit", 6),
                        ("partial_fit", 7), ("partial_fit", 8)]
    assert surrogate.n_fits == 2 and surrogate.n_warm == 5


def test_without_warm_every_partial_fit_is_never_called(table):
    Warm.log = []
    surrogate = Surrogate(Warm, "online", min_fit=2, refit_every=3)
    for n in range(2, 9):
        surrogate.update(table.cells[:n], np.linspace(0, 1, n, dtype=np.float32))
    assert Warm.log == [("fit", 2), ("fit", 5), ("fit", 8)]


def test_run_search_applies_the_warm_start_schedule(table):
    registry = get_plugins().predictors
    registry.add(Entry("warm-test-only", "predictor", Warm, "tests", ""))
    Warm.log = []
    try:
        run, _ = run_search("warm-test-only", "local", mode="online", budget=20, refit_every=5, warm_every=2,
                            table=table)
    finally:
        del registry._entries["warm-test-only"]
    assert Warm.log[:4] == [("fit", 10), ("partial_fit", 12), ("partial_fit", 14), ("fit", 15)]
    assert run["n_warm_starts"] == sum(k == "partial_fit" for k, _ in Warm.log) and run["warm_every"] == 2


# --- budgets ------------------------------------------------------------------------------------

def test_gpu_hour_budget_alone_stops_before_passing_it(table):
    run, trace = run_search(None, "random", budget=None, gpu_hours=2.0, table=table)
    assert run["gpu_hours"] <= 2.0 and run["budget"] == "" and run["gpu_hours_budget"] == 2.0
    seconds = table.train_seconds("cifar10")
    assert 2.0 * 3600 - run["gpu_hours"] * 3600 < seconds.max()  # the next cell would not have fit
    assert np.all(np.diff([r["gpu_hours"] for r in trace]) > 0)


def test_both_budgets_the_first_spent_ends_the_run(table):
    by_evals, _ = run_search(None, "random", budget=5, gpu_hours=100.0, table=table)
    by_hours, _ = run_search(None, "random", budget=200, gpu_hours=1.0, table=table)
    assert by_evals["evals"] == 5 and by_hours["evals"] < 200 and by_hours["gpu_hours"] <= 1.0


@pytest.mark.parametrize("kwargs, message", [({"budget": 15626}, "15,625"), ({"budget": None}, "needs a budget"),
                                             ({"budget": None, "gpu_hours": -1.0}, "positive"),
                                             ({"seed": -1}, "seed"), ({"workers": 0}, "workers")])
def test_bad_budgets_and_settings_are_refused(table, kwargs, message):
    with pytest.raises(UserError, match=message):
        run_search(None, "random", table=table, **kwargs)


def test_run_row_reports_gpu_and_clock_hours_to_the_optimum(table):
    run, trace = run_search(None, "local", dataset="cifar100", budget=60, seed=1, table=table)
    assert run["evals_to_optimum"] == 38  # pinned: this seed reaches the optimum on evaluation 38
    hit = trace[37]
    assert run["gpu_hours_to_optimum"] == pytest.approx(hit["gpu_hours"])
    assert run["clock_hours_to_optimum"] == pytest.approx(hit["gpu_hours"])  # one worker: wall-clock = GPU time
    assert run["cost_model"] == "train_seconds*epochs/200" and run["space"] == "nb201"
    assert len(run["table_sha256"]) == 64 and trace[0]["table_sha256"] == run["table_sha256"]


# --- low fidelity -------------------------------------------------------------------------------

def test_low_fidelity_requests_cost_12_200ths_and_do_not_count_for_the_optimum(table, scripted):
    optimum = table.cell_of(9930)  # CIFAR-100's validation optimum

    def script(view, n):
        k = len(view.observations)
        return [[Request(optimum, 12)], [Request(optimum, 200)], [Request(optimum, 12)]][k] if k < 3 else []

    scripted.script = staticmethod(script)
    run, trace = run_search(None, "scripted-test-only", dataset="cifar100", budget=5, table=table)
    seconds = table.train_seconds("cifar100")[9930]
    assert [r["fidelity"] for r in trace] == [12, 200] and run["evals"] == 2 and run["evals_12ep"] == 1
    assert trace[0]["cost_gpu_hours"] == pytest.approx(seconds * 12 / 200 / 3600)
    assert run["gpu_hours"] == pytest.approx(seconds * 212 / 200 / 3600)
    assert math.isnan(trace[0]["best_value"]) and trace[0]["best_index"] == -1
    assert run["evals_to_optimum"] == 2 and run["best_index"] == 9930
    assert scripted.told[2].cost == 0.0 and scripted.told[2].fidelity == 12  # a repeat at 12 epochs is free
    assert trace[0]["value"] == pytest.approx(table.query(9930, "cifar100", "valid", epochs=12), abs=1e-4)


# --- simulated workers --------------------------------------------------------------------------

def test_clock_finishes_the_shortest_first_and_ties_in_start_order():
    clock = Clock(2)
    clock.start("a", 10.0)
    clock.start("b", 5.0)
    assert clock.next() == (5.0, "b") and clock.free == 1
    clock.start("c", 5.0)
    assert clock.next() == (10.0, "a") and clock.next() == (10.0, "c") and clock.now == 10.0


@pytest.mark.parametrize("predictor, search, kwargs", [(None, "random", {}), (None, "evolution", {}), (None, "local", {}),
                                                      ("xgb", "topk-local", {"local": 2}), ("xgb", "topk", {})])
def test_one_simulated_worker_reproduces_the_sequential_search(table, predictor, search, kwargs):
    args = dict(budget=40, seed=3, table=table, search_kwargs=kwargs or None, mode="online" if predictor else "pretrained",
                predictor_kwargs=XGB if predictor else None)
    _, sequential = run_search(predictor, search, **args)
    _, one = run_search(predictor, search, workers=1, **args)
    assert [r["index"] for r in one] == [r["index"] for r in sequential]
    assert one[-1]["clock_hours"] == pytest.approx(one[-1]["gpu_hours"])


@pytest.mark.parametrize("search", ["random", "evolution", "local", "topk"])
def test_eight_workers_spend_the_same_budget_on_distinct_cells_in_less_wall_clock(table, search):
    run, trace = run_search(None, search, budget=60, seed=2, workers=8, table=table)
    indices = [r["index"] for r in trace]
    assert len(indices) == 60 == len(set(indices)) and run["workers"] == 8
    assert run["clock_hours"] < run["gpu_hours"] / 4  # eight workers busy most of the time
    assert np.all(np.diff([r["clock_hours"] for r in trace]) >= 0)


def test_strategy_is_asked_with_the_number_of_free_workers(table, scripted):
    asked = []

    def script(view, n):
        asked.append((n, len(view.pending)))
        return _random_cells(view, n)

    scripted.script = staticmethod(script)
    run_search(None, "scripted-test-only", budget=12, workers=4, table=table)
    assert asked[0] == (4, 0) and all(n + pending == 4 for n, pending in asked[:-1])
