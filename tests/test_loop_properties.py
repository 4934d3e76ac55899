"""The simulated clock and a strategy's view of its own results, against brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line_space import LineSpace
from nasbench_rank.errors import UserError
from nasbench_rank.loop.clock import Clock
from nasbench_rank.loop.protocol import FULL, Observation
from nasbench_rank.loop.view import SearchView

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None)


@FAST
@given(st.integers(1, 4), st.lists(st.integers(0, 5), min_size=1, max_size=12))
def test_clock_finishes_each_evaluation_after_its_seconds_on_a_free_worker(workers, durations):
    """Each evaluation starts when a worker is free and finishes its seconds later; the clock hands
    them back in finish order, ties in start order."""
    clock = Clock(workers)
    pending = list(enumerate(durations))
    finished, starts = [], {}
    while pending or clock.busy:
        while pending and clock.free:
            i, d = pending.pop(0)
            starts[i] = clock.now
            clock.start(i, d)
        assert clock.busy + clock.free == workers and clock.running() == sorted(
            clock.running(), key=lambda j: (starts[j] + durations[j], j))
        finish, item = clock.next()
        assert finish == starts[item] + durations[item] and clock.now == max(finish, clock.now)
        finished.append(item)
    # every item ran for its own seconds, and the last finish is when the clock stopped
    assert sorted(finished) == list(range(len(durations)))
    assert clock.now == max(starts[i] + d for i, d in enumerate(durations))
    if workers == 1:
        assert finished == list(range(len(durations)))  # one worker: sequential, in order
        assert clock.now == sum(durations)


def test_clock_refuses_a_start_without_a_free_worker_and_zero_workers():
    clock = Clock(2)
    clock.start("a", 3)
    clock.start("b", 1)
    assert clock.free == 0 and clock.busy == 2
    with pytest.raises(RuntimeError, match="no free worker"):
        clock.start("c", 1)
    assert clock.next() == (1.0, "b") and clock.free == 1
    with pytest.raises(UserError, match=">= 1"):
        Clock(0)


def test_clock_is_one_worker_unless_told():
    clock = Clock()
    assert clock.workers == 1 and clock.free == 1 and clock.now == 0.0


def test_clock_ties_finish_in_start_order():
    clock = Clock(3)
    for name in ("x", "y", "z"):
        clock.start(name, 5)
    assert [clock.next()[1] for _ in range(3)] == ["x", "y", "z"]


observations = st.lists(st.tuples(st.integers(0, 9), st.sampled_from([12, FULL]), st.integers(0, 5),
                                  st.sampled_from([0.0, 1.0])), max_size=15)


@FAST
@given(observations)
def test_view_best_is_the_highest_value_the_earliest_on_ties_at_one_fidelity(obs):
    view = SearchView(np.random.default_rng(0), None, space_=LineSpace(10), fidelities=(12, FULL))
    for cell, fidelity, value, cost in obs:
        view._observe(Observation((cell,), fidelity, float(value), cost))
    for fidelity in (12, FULL):
        mine = [o for o in obs if o[1] == fidelity]
        best = view.best(fidelity)
        if not mine:
            assert best is None
            continue
        top = max(v for _, _, v, _ in mine)
        first = next(o for o in mine if o[2] == top)
        assert (best.cell, best.value, best.cost) == ((first[0],), top, first[3])
        paid = {c for c, f, _, cost in obs if f == fidelity and cost > 0}
        assert set(np.flatnonzero(view.evaluated_mask(fidelity))) == paid
    assert len(view.observations) == len(obs)


def test_view_scores_and_std_come_from_the_scorer_only():
    class Scorer:
        has_std, name = False, "fake"

        def score(self, cells):
            return np.ones(len(cells))

    view = SearchView(np.random.default_rng(0), None, space_=LineSpace(4))
    assert view.score([(0,)]) is None and view.std([(0,)]) is None and not view.has_predictor
    view = SearchView(np.random.default_rng(0), Scorer(), space_=LineSpace(4))
    assert view.score([(0,), (1,)]).tolist() == [1.0, 1.0] and view.has_predictor and not view.has_std
    with pytest.raises(UserError, match="predict_std"):
        view.std([(0,)])
