"""Successive halving over the 12- and 200-epoch fidelities (`halving`, `halving-local`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space

from nasbench_rank.errors import UserError
from nasbench_rank.loop import Observation, Request, SearchView
from nasbench_rank.plugins import get_plugins
from nasbench_rank.loop.runs import run_search
from nasbench_rank.strategies.halving import SuccessiveHalving


def _cells(table, trace, fidelity=None):
    return [(tuple(table.cell_of(int(r["index"]))), r["fidelity"], r["value"]) for r in trace
            if fidelity is None or r["fidelity"] == fidelity]


def test_screens_at_12_epochs_first_and_promotes_the_best_to_200(table):
    run, trace = run_search(None, "halving", dataset="cifar100", budget=40, seed=3, table=table,
                            search_kwargs={"n": 12, "eta": 3})
    first = trace[:12]
    assert [r["fidelity"] for r in first] == [12] * 12
    promoted = trace[12:16]
    assert [r["fidelity"] for r in promoted] == [200] * 4  # ceil(12 / 3)
    by_low = sorted(first, key=lambda r: -r["value"])
    assert [r["index"] for r in promoted] == [r["index"] for r in by_low[:4]]  # best first
    assert trace[16]["fidelity"] == 12  # the next bracket starts
    assert run["evals_12ep"] > 0 and run["evals"] == 40


def test_local_brackets_are_neighbourhoods_of_evaluated_cells(table):
    run, trace = run_search(None, "halving-local", dataset="cifar10", budget=120, seed=4, table=table,
                            search_kwargs={"n": 10, "eta": 5})
    full = []
    checked = 0
    for i, (cell, fidelity, value) in enumerate(_cells(table, trace)):
        if fidelity == 200:
            full.append(cell)
        elif i >= 10:  # after the random first bracket
            assert any(sum(a != b for a, b in zip(cell, f)) == 1 for f in full), "screened far from every known cell"
            checked += 1
    assert checked > 20


def _answer(view, strategy, requests, value):
    for r in requests:
        o = Observation(r.cell, r.fidelity, value(r), 1.0)
        view._observe(o)  # what the runner does before telling the strategy
        strategy.tell(view, [o])


def test_local_neighbours_are_promoted_best_first_and_stop_on_improvement():
    strategy = SuccessiveHalving(n=6, eta=2, around="incumbent")
    view = SearchView(np.random.default_rng(0), None, evals_left=10_000)
    score = lambda r: sum(r.cell) / 30.0  # noqa: E731 (the same ranking at both fidelities)
    first = strategy.ask(view, 1)
    assert len(first) == 6 and {r.fidelity for r in first} == {12}
    _answer(view, strategy, first, score)
    promoted = []
    for _ in range(3):  # ceil(6 / 2) promotions, best 12-epoch result first
        step = strategy.ask(view, 1)
        assert len(step) == 1 and step[0].fidelity == 200
        promoted.append(step[0].cell)
        _answer(view, strategy, step, score)
    assert promoted == [r.cell for r in sorted(first, key=lambda r: -score(r))[:3]]
    incumbent = max(promoted, key=sum)
    screen = strategy.ask(view, 1)  # the incumbent's neighbourhood at 12 epochs
    assert {r.fidelity for r in screen} == {12}
    assert {r.cell for r in screen} == {m for m in space.mutations(incumbent)} - set(promoted)
    _answer(view, strategy, screen, score)
    step = strategy.ask(view, 1)
    best_neighbour = max((r.cell for r in screen), key=sum)
    assert step == [Request(best_neighbour, 200)]
    _answer(view, strategy, step, score)  # it beats the incumbent: the bracket ends at once
    nxt = strategy.ask(view, 1)
    assert {r.fidelity for r in nxt} == {12}
    assert all(sum(a != b for a, b in zip(r.cell, best_neighbour)) == 1 for r in nxt)


def test_local_bracket_without_improvement_promotes_its_quota_in_12_epoch_order():
    strategy = SuccessiveHalving(n=4, eta=6, around="incumbent")
    view = SearchView(np.random.default_rng(1), None, evals_left=10_000)
    low = lambda r: sum(r.cell) / 30.0  # noqa: E731
    first = strategy.ask(view, 1)
    _answer(view, strategy, first, low)
    step = strategy.ask(view, 1)  # ceil(4 / 6) = 1 promotion
    _answer(view, strategy, step, lambda r: 0.9)
    screen = strategy.ask(view, 1)
    _answer(view, strategy, screen, low)
    order = [r.cell for r in sorted(screen, key=lambda r: -low(r))]
    quota = math.ceil(len(screen) / 6)
    seen = []
    for _ in range(quota):
        step = strategy.ask(view, 1)
        assert step[0].fidelity == 200
        seen.append(step[0].cell)
        _answer(view, strategy, step, lambda r: 0.1)  # never better than the incumbent's 0.9
    assert seen == order[:quota]
    after = strategy.ask(view, 1)  # that neighbourhood is done: the runner-up's comes next
    runner_up = seen[0]  # all tie at 0.1: the first one evaluated
    assert {r.fidelity for r in after} == {12}
    assert all(sum(a != b for a, b in zip(r.cell, runner_up)) == 1 for r in after)


class _SumScorer:
    """Scores a cell by the sum of its op indices (a stand-in predictor, fixed and known)."""

    has_std = False

    def score(self, cells):
        return np.asarray(cells, dtype=float).sum(axis=1)


def test_screen_takes_only_the_best_scored_neighbours_of_the_incumbent():
    strategy = SuccessiveHalving(n=4, eta=2, around="incumbent", screen=5)
    view = SearchView(np.random.default_rng(2), _SumScorer(), evals_left=10_000)
    first = strategy.ask(view, 1)  # the random first bracket
    _answer(view, strategy, first, lambda r: sum(r.cell) / 30.0)
    for _ in range(2):  # its ceil(4 / 2) promotions
        _answer(view, strategy, strategy.ask(view, 1), lambda r: sum(r.cell) / 30.0)
    incumbent = max((o.cell for o in view.observations_at(200)), key=sum)
    screen = strategy.ask(view, 1)
    assert {r.fidelity for r in screen} == {12} and len(screen) == 5
    free = [m for m in space.mutations(incumbent) if m not in {o.cell for o in view.observations_at(200)}]
    assert sorted(sum(r.cell) for r in screen) == sorted(sum(m) for m in free)[-5:]
    assert all(m in free for m in (r.cell for r in screen))


def test_screen_without_scores_screens_every_neighbour(table):
    screened = run_search(None, "halving-local", dataset="cifar10", budget=60, seed=5, table=table,
                          search_kwargs={"screen": 3})[1]
    plain = run_search(None, "halving-local", dataset="cifar10", budget=60, seed=5, table=table)[1]
    assert [r["index"] for r in screened] == [r["index"] for r in plain]


def test_promote_mix_orders_promotions_by_the_mean_of_both_ranks():
    a, b, c = (0, 0, 0, 0, 0, 3), (0, 0, 0, 0, 0, 2), (0, 0, 0, 0, 0, 1)  # scored 3, 2, 1 by their sum
    low = {a: 0.1, b: 0.3, c: 0.2}
    view = SearchView(np.random.default_rng(0), _SumScorer(), evals_left=100)
    mixed = SuccessiveHalving(promote="mix")
    mixed._low = dict(low)
    assert mixed._promotion_order(view, [a, b, c]) == [b, a, c]  # rank sums 3 + 1 = 4, 1 + 2 = 3, 2 + 3 = 5
    plain = SuccessiveHalving()
    plain._low = dict(low)
    assert plain._promotion_order(view, [a, b, c]) == [b, c, a]  # by the 12-epoch result alone
    unscored = SearchView(np.random.default_rng(0), None, evals_left=100)
    assert mixed._promotion_order(unscored, [a, b, c]) == [b, c, a]  # no scores yet: 12-epoch results


@pytest.mark.parametrize("search", ["halving", "halving-local"])
def test_respects_evaluation_and_gpu_hour_budgets(table, search):
    run, trace = run_search(None, search, dataset="imagenet16", budget=50, seed=1, table=table)
    assert run["evals"] == 50 == len(trace)
    run, trace = run_search(None, search, dataset="imagenet16", budget=None, gpu_hours=20.0, seed=1, table=table)
    assert 0 < run["gpu_hours"] <= 20.0
    assert trace[-1]["gpu_hours"] <= 20.0
    assert any(r["fidelity"] == 200 for r in trace) and any(r["fidelity"] == 12 for r in trace)


@pytest.mark.parametrize("search", ["halving", "halving-local"])
def test_simulated_workers_spend_the_budget_in_less_wall_clock(table, search):
    one, _ = run_search(None, search, dataset="cifar10", budget=None, gpu_hours=30.0, seed=2, table=table, workers=1)
    eight, trace = run_search(None, search, dataset="cifar10", budget=None, gpu_hours=30.0, seed=2, table=table,
                              workers=8)
    keys = [(r["index"], r["fidelity"]) for r in trace]
    assert len(keys) == len(set(keys))  # nothing paid twice
    assert eight["gpu_hours"] <= 30.0
    assert eight["gpu_hours"] > 0.8 * one["gpu_hours"]
    assert eight["clock_hours"] < one["clock_hours"] / 2


def test_reproducible_on_a_seed(table):
    a = run_search(None, "halving-local", budget=60, seed=7, table=table)[1]
    b = run_search(None, "halving-local", budget=60, seed=7, table=table)[1]
    c = run_search(None, "halving-local", budget=60, seed=8, table=table)[1]
    assert [r["index"] for r in a] == [r["index"] for r in b] != [r["index"] for r in c]


def test_a_predictor_screens_the_random_brackets(table):
    run, trace = run_search("xgb", "halving", mode="online", dataset="cifar10", budget=60, seed=0, table=table,
                            predictor_kwargs={"n_estimators": 5, "max_depth": 2}, search_kwargs={"n": 8, "pool": 50})
    assert run["n_fits"] > 0 and run["evals"] == 60


@pytest.mark.parametrize("kwargs, message", [
    ({"eta": 1}, "eta must be an integer >= 2"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"around": "best"}, "around must be 'random' or 'incumbent'"),
    ({"n": 50, "pool": 10}, "pool must be 'all' or >= n"),
    ({"screen": -1}, "screen must be an integer >= 0"),
    ({"promote": "score"}, "promote must be 'low' or 'mix'"),
])
def test_bad_settings_are_refused_when_built(kwargs, message):
    with pytest.raises(UserError, match=message):
        get_plugins().searches.create("halving", **kwargs)
