"""Metrics, optima and thresholds of a benchmark against brute force on small random benchmarks."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from line_space import LineBenchmark
from nasbench_rank.spaces.base import TIE_TOLERANCE, Metric
from nasbench_rank.spaces.nb201 import NB201Benchmark

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)

# values on a coarse grid so that ties are common, with NaN now and then (a cell the table lacks)
cell_values = st.lists(st.one_of(st.integers(0, 12).map(lambda v: v * 2.5), st.just(math.nan)), min_size=1,
                       max_size=30).filter(lambda v: any(not math.isnan(x) for x in v))


def benchmark(values, direction):
    metrics = {"valid": Metric("valid", direction), "test": Metric("test", direction)}
    return LineBenchmark({"valid": values, "test": values}, metrics=metrics)


@FAST
@given(cell_values, st.sampled_from(["max", "min"]))
def test_optimum_is_the_best_value_its_first_element_and_every_tie(values, direction):
    opt = benchmark(values, direction).optimum("data", "valid")
    finite = [v for v in values if not math.isnan(v)]
    best = max(finite) if direction == "max" else min(finite)
    ties = tuple(i for i, v in enumerate(values) if not math.isnan(v) and abs(v - best) <= TIE_TOLERANCE * max(1, abs(best)))
    assert (opt.value, opt.ties, opt.ordinal) == (best, ties, ties[0])


def test_optimum_ties_values_within_the_tolerance_only():
    a = 90.0
    values = [a, a * (1 + TIE_TOLERANCE / 2), a * (1 - 3 * TIE_TOLERANCE), 10.0]
    assert benchmark(values, "max").optimum("data", "valid").ties == (0, 1)
    assert benchmark([0.0, 5e-10, 2e-9], "min").optimum("data", "valid").ties == (0, 1)  # absolute below 1
    assert benchmark([0.0, 1e-9], "min").optimum("data", "valid").ties == (0, 1)  # the tolerance itself ties


@FAST
@given(st.integers(1, 2600), st.sampled_from(["max", "min"]), st.integers(0, 2**31))
@example(1, "max", 0)  # one element: it is its own threshold
@example(1001, "max", 1)  # just past 1,000 the second best
@example(2001, "min", 2)
def test_threshold_is_the_value_of_the_best_tenth_of_a_percent(n, direction, seed):
    rng = np.random.default_rng(seed)
    values = rng.permutation(n).astype(float)  # distinct: the k-th best differs from its neighbours
    values = rng.permutation(np.r_[values, [math.nan] * int(rng.integers(0, 4))])  # cells the table lacks
    finite = sorted(values[~np.isnan(values)], reverse=direction == "max")
    k = math.ceil(n / 1000)  # the k-th best of the n elements the table has
    assert benchmark(values, direction).threshold("data") == finite[k - 1]


def test_threshold_uses_the_test_metric_where_there_is_one_and_the_default_metric_elsewhere():
    bm = LineBenchmark({"valid": [1.0, 2.0], "test": [5.0, 3.0]})
    assert bm.threshold("data") == 5.0
    only_valid = LineBenchmark({"valid": [1.0, 2.0]}, metrics={"valid": Metric("valid", "min")})
    assert only_valid.threshold("data") == 1.0
    empty = LineBenchmark({"valid": [math.nan], "test": [math.nan]})
    assert math.isnan(empty.threshold("data"))


@FAST
@given(st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=1, max_size=10), st.sampled_from(["max", "min"]),
       st.booleans())
def test_utility_is_higher_for_better_values_and_best_index_is_the_first_best(values, direction, log):
    metric = Metric("m", direction, log=log)
    u = metric.utility(values)
    expected = np.log(values) if log else np.asarray(values)
    assert u == pytest.approx(expected if direction == "max" else -expected)
    best = max(values) if direction == "max" else min(values)
    assert metric.best_index(values + [math.nan]) == values.index(best)


def test_metric_direction_must_be_max_or_min():
    with pytest.raises(ValueError, match="direction"):
        Metric("m", "up")


def test_nb201_thresholds_are_the_articles_and_sit_below_the_optima():
    bm = NB201Benchmark.__new__(NB201Benchmark)  # no table needed for the thresholds
    assert [bm.threshold(d) for d in ("cifar10", "cifar100", "imagenet16")] == [94.0, 73.0, 46.0]
    assert bm.threshold("CIFAR-10") == 94.0  # an alias names the same dataset


def test_nb201_optima_are_the_published_ones(table):
    bm = NB201Benchmark()
    bm.__dict__["table"] = table
    expected = {("cifar10", "test"): 94.37, ("cifar100", "test"): 73.51, ("imagenet16", "test"): 47.31,
                ("cifar10", "valid"): 91.61, ("cifar100", "valid"): 73.49, ("imagenet16", "valid"): 46.73}
    for (dataset, metric), value in expected.items():
        opt = bm.optimum(dataset, metric)
        assert opt.value == pytest.approx(value, abs=0.006)
        assert bm.values(dataset, metric)[opt.ordinal] == opt.value
    cost = bm.cost("cifar10")
    assert bm.cost("cifar10", "12ep") == pytest.approx(cost * 12 / 200)
    params = bm.optimum("cifar10", "params")
    assert params.value == bm.values("cifar10", "params").min()
