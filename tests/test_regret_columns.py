"""Regret columns a run row carries beyond the evaluation marks (test regret at GPU-hour marks), the
reference a grid worker keeps per benchmark and dataset, and the eps values a user may give."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_regret import make_ref, steps
from toy_space import BitBenchmark

from nasbench_rank.errors import UserError
from nasbench_rank.loop import regret as R


def test_test_regret_at_an_hour_mark_is_that_of_the_incumbent_paid_by_then():
    ref = make_ref(hours=(1.5, 2.0, 0.5))  # test accuracies 93, 94, 92, 90, ...: the best is 94
    row = R.summary(steps((3, 0.85), (1, 0.9), (0, 0.99)), ref, budget=3, marks=())
    assert row["test_regret_at_1.5h"] == pytest.approx(4.0)  # element 3 (90)
    assert row["test_regret_at_2h"] == pytest.approx(0.0)  # element 1 (94)
    assert math.isnan(row["test_regret_at_0.5h"])  # nothing paid yet


def test_a_worker_computes_the_regret_reference_once_per_benchmark_and_dataset(monkeypatch):
    calls = []
    real = R.reference
    monkeypatch.setattr(R, "reference", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(R, "_REFERENCES", {})
    bm = BitBenchmark()
    first = R._reference_cached(bm, "ones", "valid", "valid", None, None)
    again = R._reference_cached(bm, "ones", "valid", "valid", None, None)
    assert again is first and len(calls) == 1
    other = BitBenchmark()  # another benchmark object gets its own reference
    R._reference_cached(other, "ones", "valid", "valid", None, None)
    assert len(calls) == 2


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.lists(st.floats(1e-6, 100.0) | st.integers(1, 100), min_size=1, max_size=4))
def test_positive_eps_are_taken_as_given(eps):
    assert R.check_eps(eps) == [float(e) for e in eps]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x", True])
def test_the_refusal_names_the_eps_that_is_not_a_positive_number(bad):
    with pytest.raises(UserError) as refused:
        R.check_eps([0.1, bad])
    assert str(refused.value) == f"eps must be a positive number, got {bad!r}"


def test_a_trace_that_does_not_name_its_report_metric_is_reported_on_test(monkeypatch):
    from line_space import LineBenchmark

    monkeypatch.setattr(R, "_REFERENCES", {})
    bm = LineBenchmark({"valid": [90.0, 80.0, 70.0], "test": [85.0, 88.0, 60.0]})
    rows = [{"eval": 1, "index": 1, "fidelity": 200, "value": 80.0, "gpu_hours": 1.0, "dataset": "data",
             "metric": "valid"}]
    named = [{**r, "report_metric": "test"} for r in rows]
    row, _ = R.of_trace(rows, bm, budget=1, marks=(1,))
    assert row["test_regret_at_1"] == R.of_trace(named, bm, budget=1, marks=(1,))[0]["test_regret_at_1"] == 0.0


def test_of_two_equal_observations_the_first_stays_the_incumbent():
    ref = make_ref()  # element 2 (0.4 below the optimum) and element 3 (5 below) are observed alike
    points = R.curve(steps((2, 0.9), (3, 0.9)), ref)
    assert [p["incumbent"] for p in points] == [2, 2]
    assert points[-1]["regret"] == pytest.approx(0.4)


def test_nas_bench_graph_eps_are_nb201_points_as_fractions_and_fcnets_are_log_mse():
    assert R.default_eps("nbgraph", 5.0) == pytest.approx([e / 100 for e in R.default_eps("nb201", 5.0)])
    assert R.default_eps("nb201", 5.0) == (0.1, 0.2, 0.5)
    assert R.default_eps("fcnet", 5.0) == (0.01, 0.02, 0.05)
    assert R.default_eps("bits", 2.0) == pytest.approx((0.02, 0.04, 0.1))  # any other space: of the median regret
