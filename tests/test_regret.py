"""Regret of a search run (nasbench_rank.loop.regret): incumbent by observed value, regret by the
noise-free mean, marks, hit / identify / top-k, the normalised area, bad marks and eps."""

import math

import numpy as np
import pytest

from nasbench_rank.errors import UserError
from nasbench_rank.loop import regret as R


def make_ref(eps=(0.1, 0.5), hours=(2.0,)):
    # six elements: noise-free means 90, 89.95, 89.6, 85, 80, 70 (points); the optimum is element 0
    mean = np.array([90.0, 89.95, 89.6, 85.0, 80.0, 70.0])
    reg = R.regret_of(mean, 90.0, "max", "%")
    test = np.array([93.0, 94.0, 92.0, 90.0, 85.0, 75.0])
    test_reg = R.regret_of(test, 94.0, "max", "%")
    order = np.argsort(reg, kind="stable")
    return R.Reference(reg, test_reg, test, frozenset(int(o) for o in order[:2]), float(np.median(reg)),
                       tuple(eps), tuple(hours))


def steps(*items):
    """(ordinal, observed utility[, full]) -> Steps at one GPU-hour each."""
    out = []
    for i, it in enumerate(items):
        ordinal, value = it[0], it[1]
        full = it[2] if len(it) > 2 else True
        out.append(R.Step(i + 1, ordinal, full, value, float(i + 1)))
    return out


def test_incumbent_is_chosen_by_observed_value_and_regret_uses_the_noise_free_mean():
    # element 2 looks best on its single seed (0.95 observed) although its mean is 0.4 points below the optimum
    ref = make_ref()
    run = steps((4, 0.80), (2, 0.95), (0, 0.90))
    points = R.curve(run, ref)
    assert [p["incumbent"] for p in points] == [4, 2, 2]
    assert points[-1]["regret"] == pytest.approx(0.4)
    assert points[-1]["test_regret"] == pytest.approx(2.0)
    row = R.summary(run, ref, budget=3, marks=(1, 2, 3))
    assert row["final_regret"] == pytest.approx(0.4)
    assert row["regret_at_1"] == pytest.approx(10.0)
    # the optimum was evaluated at step 3 (hit 0.1), but never became the incumbent (not identified)
    assert row["evals_to_hit_0.1"] == 3
    assert math.isnan(row["evals_to_identify_0.1"])
    assert row["evals_to_identify_0.5"] == 2
    assert row[f"evals_to_top{R.TOP_K}"] == 3  # element 0 is in the top set


def test_top_k_hit_counts_the_first_evaluation_of_a_top_element():
    ref = make_ref()
    row = R.summary(steps((5, 0.7), (1, 0.9), (0, 0.99)), ref, budget=3, marks=())
    assert row[f"evals_to_top{R.TOP_K}"] == 2


def test_low_fidelity_results_never_become_the_incumbent_but_count_as_evaluations():
    ref = make_ref()
    run = steps((0, 0.99, False), (3, 0.85), (0, 0.90))
    points = R.curve(run, ref)
    assert [p["incumbent"] for p in points] == [-1, 3, 0]
    assert math.isnan(points[0]["regret"])
    row = R.summary(run, ref, budget=3, marks=(1, 3))
    assert math.isnan(row["regret_at_1"])
    assert row["regret_at_3"] == 0.0
    assert row["evals_to_hit_0.1"] == 3  # the 12-epoch look at the optimum does not count as a hit


def test_marks_past_the_budget_are_left_out_and_an_early_stop_keeps_its_last_incumbent():
    ref = make_ref()
    row = R.summary(steps((3, 0.85), (1, 0.9)), ref, budget=4, marks=(1, 4, 10))
    assert "regret_at_10" not in row
    assert row["regret_at_4"] == pytest.approx(0.05)


def test_hour_marks_take_the_incumbent_of_the_evaluations_paid_by_then():
    ref = make_ref(hours=(1.5, 2.0, 0.5))
    row = R.summary(steps((3, 0.85), (1, 0.9), (0, 0.99)), ref, budget=3, marks=())
    assert row["regret_at_1.5h"] == pytest.approx(5.0)
    assert row["regret_at_2h"] == pytest.approx(0.05)
    assert math.isnan(row["regret_at_0.5h"])


def test_area_is_normalised_by_the_median_regret_capped_at_one_and_one_before_any_result():
    ref = make_ref()  # regrets 0, .05, .4, 5, 10, 20: median 2.7
    row = R.summary(steps((0, 0.5, False), (5, 0.7), (3, 0.85), (0, 0.99)), ref, budget=5, marks=())
    expected = np.mean([1.0, 1.0, 5.0 / 2.7 if 5.0 / 2.7 < 1 else 1.0, 0.0, 0.0])
    assert row["regret_auc"] == pytest.approx(expected)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x", True])
def test_eps_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(UserError, match="eps must be a positive number"):
        R.check_eps([0.1, bad])


def test_marks_past_the_budget_or_not_counts_are_refused():
    assert R.check_marks([50, 10, 50], 100) == [10, 50]
    with pytest.raises(UserError, match="does not exist in a run of budget 100"):
        R.check_marks([10, 300], 100)
    with pytest.raises(UserError, match="number of evaluations >= 1"):
        R.check_marks([0], 100)


def test_log_metric_regret_is_in_log_units_and_min_metrics_count_upwards():
    assert R.regret_of(np.array([2.0, 1.0]), 1.0, "min", log=True) == pytest.approx([math.log(2.0), 0.0])
    assert R.regret_of(np.array([3.0, 1.0]), 1.0, "min") == pytest.approx([2.0, 0.0])


def test_reference_on_nb201_uses_the_valid_optimum_and_points_of_accuracy():
    from nasbench_rank.spaces import load

    bm = load("nb201")
    ref = R.reference(bm, "cifar10", "valid", "test")
    opt = bm.optimum("cifar10", "valid")
    assert ref.regret[opt.ordinal] == 0.0
    assert ref.regret.min() == 0.0 and ref.eps == (0.1, 0.2, 0.5)
    assert opt.ordinal in ref.top and len(ref.top) == R.TOP_K
    assert ref.test_regret.min() == 0.0
    assert ref.test[int(np.argmin(ref.test_regret))] == pytest.approx(94.37, abs=0.01)


def test_regret_from_a_trace_matches_the_ledger_and_keeps_nb201_official_indices():
    from nasbench_rank.loop.oracle import Oracle
    from nasbench_rank.loop.protocol import Request
    from nasbench_rank.spaces import load

    bm = load("nb201")
    oracle = Oracle(bm, "cifar100", "valid", noise="seed", rng=np.random.default_rng(7))
    cells = bm.space.sample(np.random.default_rng(3), 30)
    for i, c in enumerate(cells):
        oracle.evaluate(Request(tuple(int(v) for v in c), 12 if i % 7 == 3 else 200))
    from_ledger, trace_cols = R.of_ledger(oracle, bm, budget=30)
    rows = [{"eval": e.number, "index": e.index, "fidelity": e.fidelity, "value": oracle.to_metric(e.value),
             "gpu_hours": e.gpu_seconds / 3600, "dataset": "cifar100", "metric": "valid", "report_metric": "test"}
            for e in oracle.ledger]
    from_rows, trace_rows = R.of_trace(rows, bm, budget=30)
    assert from_rows.keys() == from_ledger.keys()
    for k, v in from_ledger.items():
        assert (v == from_rows[k]) or (isinstance(v, float) and math.isnan(v) and math.isnan(from_rows[k])) or \
            v == pytest.approx(from_rows[k]), k
    assert trace_rows == trace_cols
    assert "regret_at_25" in from_ledger and "regret_at_50" not in from_ledger
