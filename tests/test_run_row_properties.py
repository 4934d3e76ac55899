"""A search's run row against its own trace, on small random benchmarks: the best found, the
optimum, and when the search first got to the optimum or to the threshold (NaN: never)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line_space import LineBenchmark
from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request
from nasbench_rank.loop.runs import _summary, _trace, censored_median, run_search, summarise
from nasbench_rank.spaces.base import Metric

FAST = settings(max_examples=12, deadline=None, derandomize=True, database=None)


def bench(valid, test, direction):
    metrics = {"valid": Metric("valid", direction, "", "%"), "test": Metric("test", direction, "", "%")}
    return LineBenchmark({"valid": valid, "test": test}, metrics=metrics)


@FAST
@given(st.integers(4, 12).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 6).map(float), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 6).map(float), min_size=n, max_size=n))),
       st.sampled_from(["max", "min"]), st.integers(0, 1000), st.data())
def test_run_row_reports_the_first_evaluation_at_the_optimum_and_at_the_threshold(values, direction, seed, data):
    valid, test = values
    n = len(valid)
    budget = data.draw(st.integers(1, n))
    bm = bench(valid, test, direction)
    run, trace = run_search(None, "random", dataset="data", table=bm, budget=budget, seed=seed)
    better = max if direction == "max" else min
    order = [r["index"] for r in trace]
    assert run["evals"] == len(trace) == budget and len(set(order)) == budget
    # brute force over the trace: the best so far by the search metric (the earliest on ties)
    best_so_far, to_optimum, to_threshold = None, math.nan, math.nan
    optimum = better(valid)
    threshold = bm.threshold("data")
    for step, i in enumerate(order, start=1):
        if best_so_far is None or better(valid[i], valid[best_so_far]) != valid[best_so_far]:
            best_so_far = i
        if math.isnan(to_optimum) and valid[best_so_far] == optimum:
            to_optimum = step
        reached = test[best_so_far] >= threshold if direction == "max" else test[best_so_far] <= threshold
        if math.isnan(to_threshold) and reached:
            to_threshold = step
        assert trace[step - 1]["best_index"] == best_so_far
    assert run["best_index"] == best_so_far and run["best_metric"] == pytest.approx(valid[best_so_far])
    assert run["best_test"] == test[best_so_far] and run["best_valid"] == valid[best_so_far]
    assert run["optimum_metric"] == optimum and run["threshold"] == threshold
    assert run["optimum_test"] == test[valid.index(optimum)]  # the optimum's first element
    assert run["evals_to_optimum"] == to_optimum or (math.isnan(run["evals_to_optimum"]) and math.isnan(to_optimum))
    assert run["reached_optimum"] == (not math.isnan(to_optimum))
    assert run["evals_to_threshold"] == to_threshold or (math.isnan(run["evals_to_threshold"])
                                                         and math.isnan(to_threshold))
    assert run["reached_threshold"] == (not math.isnan(to_threshold))
    assert run["direction"] == direction and run["report_metric"] == "test"


def test_a_search_that_evaluates_everything_reaches_the_optimum():
    bm = bench([1.0, 5.0, 3.0, 5.0], [2.0, 1.0, 9.0, 4.0], "max")
    run, _ = run_search(None, "random", dataset="data", table=bm, budget=4, seed=0)
    assert run["reached_optimum"] and run["evals_to_optimum"] <= 4 and run["optimum_test"] == 1.0
    assert run["best_index"] in (1, 3) and run["best_metric"] == pytest.approx(5.0)


def test_censored_median_counts_runs_that_never_got_there_as_later_than_any():
    assert censored_median([10.0, math.nan, 30.0]) == 30.0
    assert censored_median([10.0, 20.0, math.nan, math.nan]) == math.inf  # half never got there
    assert censored_median([10.0, math.nan, math.nan]) == math.inf
    assert censored_median([5.0, 7.0]) == 6.0
    assert math.isnan(censored_median([]))


def test_summary_over_seeds_counts_never_at_the_budget_plus_one():
    runs = [{"best_test": 90.0 + s, "reached_optimum": s < 2, "evals_to_optimum": [10.0, 20.0, math.nan][s],
             "reached_threshold": True, "evals_to_threshold": 5.0, "gpu_hours": 1.0, "fit_seconds_total": 0.0,
             "search_seconds_per_eval": 0.1, "budget": 100} for s in range(3)]
    out = summarise(runs)
    assert out["seeds"] == 3 and out["best_test_mean"] == 91.0 and out["best_test_std"] == pytest.approx(1.0)
    assert out["reached_optimum"] == pytest.approx(2 / 3) and out["median_evals_to_optimum"] == 20.0
    assert out["mean_evals_to_optimum_censored"] == pytest.approx((10 + 20 + 101) / 3)
    assert out["median_evals_to_threshold"] == 5.0


def test_run_row_reports_gpu_and_clock_hours_of_what_was_paid():
    bm = bench([1.0, 5.0, 3.0, 5.0], [2.0, 1.0, 9.0, 4.0], "max")
    run, trace = run_search(None, "random", dataset="data", table=bm, budget=3, seed=1)
    assert run["gpu_hours"] == pytest.approx(30.0 / 3600) and run["clock_hours"] == pytest.approx(30.0 / 3600)
    assert [r["gpu_hours"] for r in trace] == pytest.approx([10 / 3600, 20 / 3600, 30 / 3600])
    run, _ = run_search(None, "random", dataset="data", table=bm, budget=4, seed=1, workers=2)
    assert run["gpu_hours"] == pytest.approx(40.0 / 3600) and run["clock_hours"] == pytest.approx(20.0 / 3600)


def summary_of(oracle, bm):
    protocol = {"dataset": "data", "metric": "valid", "budget": 5}
    return _summary(bm, oracle, _trace(oracle, protocol, 0, {}), protocol, 0, True)


def test_a_run_without_a_full_fidelity_result_has_no_best_and_reaches_nothing():
    bm = LineBenchmark({"valid": [1.0, 5.0], "test": [2.0, 1.0]}, low={"valid": [0.5, 0.6], "test": [0.4, 0.3]})
    oracle = Oracle(bm, "data", "valid")
    oracle.evaluate(Request((1,), 12), finished_at=6.0)
    run = summary_of(oracle, bm)
    assert (run["evals"], run["evals_12ep"], run["best_index"]) == (1, 1, -1)
    assert math.isnan(run["best_metric"]) and math.isnan(run["best_valid"]) and math.isnan(run["best_test"])
    assert not run["reached_optimum"] and not run["reached_threshold"]
    assert run["clock_hours"] == pytest.approx(6.0 / 3600) and run["gpu_hours"] == pytest.approx(0.6 / 3600)
    no_valid = LineBenchmark({"loss": [3.0, 1.0]}, metrics={"loss": Metric("loss", "min")})
    no_valid.default_metric = "loss"
    oracle = Oracle(no_valid, "data", "loss")
    oracle.evaluate(Request((1,)))
    protocol = {"dataset": "data", "metric": "loss", "budget": 5}
    run = _summary(no_valid, oracle, _trace(oracle, protocol, 0, {}), protocol, 0, True)
    assert run["best_metric"] == 1.0 and math.isnan(run["best_valid"]) and run["report_metric"] == "loss"
    empty = summary_of(Oracle(bm, "data", "valid"), bm)
    assert (empty["evals"], empty["clock_hours"], empty["gpu_hours"]) == (0, 0.0, 0.0)


def test_censored_mean_needs_an_evaluation_budget():
    runs = [{"best_test": 90.0, "reached_optimum": False, "evals_to_optimum": math.nan, "reached_threshold": False,
             "evals_to_threshold": math.nan, "gpu_hours": 1.0, "fit_seconds_total": 0.0,
             "search_seconds_per_eval": 0.1, "budget": ""}]
    out = summarise(runs)
    assert math.isnan(out["mean_evals_to_optimum_censored"]) and out["median_evals_to_optimum"] == math.inf
    assert out["best_test_std"] == 0.0 and out["seeds"] == 1
