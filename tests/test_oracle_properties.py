"""The oracle against brute force on small random benchmarks: what it answers (mean or one training
seed, drawn with the run's rng), what it charges, and what its ledger keeps."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line_space import LineBenchmark
from nasbench_rank.errors import UserError
from nasbench_rank.loop.oracle import Oracle, check_budget, from_utility, to_utility
from nasbench_rank.loop.protocol import FULL, Request
from nasbench_rank.spaces.base import Metric

FAST = settings(max_examples=20, deadline=None, derandomize=True, database=None)


def seeded_benchmark(n=40, k=3, nan_rows=()):
    """valid of seed j on element i is 50 + i/10 + j (so the seed an answer came from can be read
    back); the table's valid sits 0.25 above the seeds' mean; rows in `nan_rows` have only their
    last seed."""
    seeds = 50 + np.arange(n)[:, None] / 10 + np.arange(k)[None, :]
    for i in nan_rows:
        seeds[i, :-1] = np.nan
    valid = np.nanmean(seeds, axis=1) + 0.25  # the table's mean is not any one seed's result
    return LineBenchmark({"valid": valid, "test": valid - 1}, seeds=seeds, low={"valid": valid - 20, "test": valid - 21})


def seed_of(bm, i, value):
    """The training seed whose result `value` (a utility: a fraction) is, on element i."""
    row = bm.seeds[i]
    return int(np.flatnonzero(np.isclose(row / 100, value, atol=1e-6))[0])


def test_seed_oracle_answers_every_training_seed_not_always_the_first():
    bm = seeded_benchmark()
    oracle = Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(7))
    drawn = [seed_of(bm, i, oracle.evaluate(Request((i,))).value) for i in range(40)]
    assert set(drawn) == {0, 1, 2}


def test_seed_oracle_draws_uniformly_among_seeds_with_the_runs_rng():
    bm = seeded_benchmark(nan_rows=(5,))
    rng = np.random.default_rng(11)
    oracle = Oracle(bm, "data", "valid", noise="seed", rng=rng)
    replay = np.random.default_rng(11)  # the same stream: the draw must be rng.integers(seeds left)
    for i in range(40):
        ok = np.flatnonzero(~np.isnan(bm.seeds[i]))
        expected = bm.seeds[i, ok[int(replay.integers(len(ok)))]]
        assert oracle.evaluate(Request((i,))).value == pytest.approx(expected / 100, abs=1e-6)


def test_seed_oracles_with_different_rngs_see_different_draws_and_equal_rngs_the_same():
    bm = seeded_benchmark()

    def answers(seed):
        oracle = Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(seed))
        return [oracle.evaluate(Request((i,))).value for i in range(40)]

    assert answers(1) == answers(1)
    assert answers(1) != answers(2)


def test_seed_oracle_skips_seeds_that_were_not_run():
    bm = seeded_benchmark(nan_rows=range(40))
    oracle = Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(0))
    assert [seed_of(bm, i, oracle.evaluate(Request((i,))).value) for i in range(40)] == [2] * 40


def test_an_evaluation_without_a_finish_time_is_entered_at_time_zero():
    oracle = Oracle(seeded_benchmark(n=3), "data", "valid")
    oracle.evaluate(Request((1,)))
    assert oracle.ledger[0].finished_at == 0.0 and oracle.ledger[0].cost == 10.0


def test_seed_oracle_answers_the_mean_where_no_seed_was_run_and_at_a_low_fidelity():
    bm = seeded_benchmark()
    bm.seeds[3] = np.nan
    oracle = Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(0))
    assert oracle.evaluate(Request((3,))).value == pytest.approx(bm.values_["valid"][3] / 100, abs=1e-6)
    assert oracle.evaluate(Request((4,), 12)).value == pytest.approx(bm.low["valid"][4] / 100, abs=1e-6)


def test_seed_oracle_without_per_seed_data_is_refused():
    bm = seeded_benchmark()
    bm.seeds = None
    with pytest.raises(UserError, match="per-seed"):
        Oracle(bm, "data", "valid", noise="seed")
    with pytest.raises(UserError, match="unknown oracle"):
        Oracle(bm, "data", "valid", noise="median")


def test_seed_oracle_without_an_rng_is_seeded_the_same_every_time():
    bm = seeded_benchmark()
    a = Oracle(bm, "data", "valid", noise="seed")
    b = Oracle(bm, "data", "valid", noise="seed")
    assert [a.evaluate(Request((i,))).value for i in range(20)] == [b.evaluate(Request((i,))).value for i in range(20)]


small_values = st.lists(st.integers(0, 20).map(float), min_size=2, max_size=12)


@FAST
@given(small_values, st.sampled_from(["max", "min"]), st.lists(st.integers(0, 11), min_size=1, max_size=20))
def test_mean_oracle_answers_utilities_charges_once_and_keeps_the_ledger(vals, direction, asked):
    n = len(vals)
    metrics = {"valid": Metric("valid", direction, "", "%"), "test": Metric("test", "max", "", "%")}
    seconds = np.arange(1, n + 1) * 3.0
    bm = LineBenchmark({"valid": vals, "test": [v + 0.5 for v in vals]}, metrics=metrics, seconds=seconds)
    oracle = Oracle(bm, "data", "valid")
    paid, total = [], 0.0
    for step, i in enumerate(i % n for i in asked):
        assert oracle.cost(Request((i,))) == (0.0 if i in paid else seconds[i])
        obs = oracle.evaluate(Request((i,)), finished_at=float(step))
        sign = 1 if direction == "max" else -1
        assert obs.value == pytest.approx(sign * vals[i] / 100, abs=1e-6)
        assert obs.cost == (0.0 if i in paid else seconds[i])
        if i not in paid:
            paid.append(i)
            total += seconds[i]
        assert oracle.is_paid(Request((i,)))
    assert [e.index for e in oracle.ledger] == paid
    assert [e.number for e in oracle.ledger] == list(range(1, len(paid) + 1))
    assert [e.test for e in oracle.ledger] == [vals[i] + 0.5 for i in paid]
    assert oracle.gpu_seconds == pytest.approx(total) and oracle.ledger[-1].gpu_seconds == pytest.approx(total)
    assert oracle.n_evals == len(paid)
    best = oracle.best()
    utilities = [(1 if direction == "max" else -1) * vals[i] for i in paid]
    assert best.index == paid[int(np.argmax(utilities))]  # the best, the earliest on ties
    assert oracle.to_metric(best.value) == pytest.approx(vals[best.index], abs=1e-4)


def test_low_fidelity_results_cost_their_share_of_epochs_and_are_kept_apart():
    bm = seeded_benchmark(n=4)
    oracle = Oracle(bm, "data", "valid")
    assert oracle.cost(Request((1,), 12)) == pytest.approx(10.0 * 12 / 200)
    oracle.evaluate(Request((1,), 12))
    assert oracle.best() is None and oracle.best(12).index == 1
    assert oracle.cost(Request((1,))) == 10.0  # the full schedule is paid again
    oracle.evaluate(Request((1,)))
    assert oracle.gpu_seconds == pytest.approx(10.0 + 0.6)
    assert [e.fidelity for e in oracle.ledger] == [12, FULL]


@pytest.mark.parametrize("metric", [Metric("acc", "max", "", "%"), Metric("err", "min", "", "%"),
                                    Metric("loss", "min", "", "", log=True), Metric("r", "max")])
def test_utilities_order_values_by_the_metrics_direction_and_map_back(metric):
    values = np.array([0.5, 2.0, 10.0, 80.0])
    utilities = to_utility(metric, values)
    order = np.argsort(-utilities)
    assert list(order) == ([3, 2, 1, 0] if metric.direction == "max" else [0, 1, 2, 3])
    back = [from_utility(metric, u) for u in utilities]
    assert back == pytest.approx(values, rel=1e-5)
    if metric.unit == "%":
        assert utilities.dtype == np.float32 and abs(utilities[3]) == pytest.approx(0.8)


@pytest.mark.parametrize("evals,hours,size,unit,message", [
    (None, None, 10, "seconds", "needs a budget"),
    (0, None, 10, "seconds", "budget must be 1..10"),
    (11, None, 10, "seconds", "budget must be 1..10"),
    (None, 0.0, 10, "seconds", "GPU-hours must be a positive"),
    (None, math.inf, 10, "seconds", "GPU-hours must be a positive"),
    (None, 1.0, 10, "evaluations", "no training times"),
])
def test_bad_budgets_are_refused(evals, hours, size, unit, message):
    with pytest.raises(UserError, match=message):
        check_budget(evals, hours, size, "line", unit)


def test_budgets_at_the_edges_are_accepted():
    check_budget(1, None, 10, "line")
    check_budget(10, 0.01, 10, "line")
    check_budget(None, 5.0, 10, "line")
