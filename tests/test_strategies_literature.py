"""The literature's strategies written from their papers (bananas, npenas, weaknas, ls), driven
through the SearchView alone with a stub scorer, and their registration."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.loop import Observation, SearchView
from nasbench_rank.strategies.bananas import Bananas
from nasbench_rank.strategies.local_white import SteepestLocalSearch
from nasbench_rank.strategies.npenas import NPENAS
from nasbench_rank.strategies.weaknas import WeakNAS


class Stub:
    """Scores = sum of op indices (a fixed ranking); std as given."""

    name = "stub"

    def __init__(self, std=0.0):
        self.has_std = True
        self._std = std

    def score(self, cells):
        return np.asarray(cells, dtype=np.float32).reshape(-1, 6).sum(axis=1) / 24.0

    def std(self, cells):
        n = len(np.asarray(cells).reshape(-1, 6))
        return np.full(n, self._std, dtype=np.float32)


def value(cell):
    """A synthetic utility: how many edges carry op 3 (nor_conv_3x3), a little noise-free landscape."""
    return sum(1 for v in cell if v == 3) / 6.0


def answer(view, strategy, cells):
    for c in cells:
        cell = tuple(int(v) for v in (c.cell if hasattr(c, "cell") else c))
        o = Observation(cell, 200, value(cell), 1.0)
        view._observe(o)
        strategy.tell(view, [o])


def distance(a, b):
    return sum(x != y for x, y in zip(a, b))


def test_bananas_proposes_thompson_best_mutants_of_the_best_cells():
    strategy = Bananas(init=10, k=5, candidates=40, parents=3)
    view = SearchView(np.random.default_rng(0), Stub(std=0.0), evals_left=1000)
    first = strategy.ask(view, 1)
    assert len(first) == 10
    answer(view, strategy, first)
    best3 = sorted(first, key=lambda c: -value(c))[:3]
    picks = strategy.ask(view, 1)
    assert len(picks) == 5 and not set(picks) & set(first)
    assert all(min(distance(p, b) for b in best3) == 1 for p in picks)  # one edit from a parent
    # with std 0 the Thompson draws are the means: the picks are the best-scored candidates
    scores = Stub().score(picks)
    assert scores.min() >= np.sort(Stub().score([m for b in best3 for m in space.mutations(b)]))[-40:].min()


def test_bananas_draws_are_independent_per_candidate_and_reproduce_with_the_seed():
    def run(seed):
        strategy = Bananas(init=6, k=4, candidates=30, parents=2)
        view = SearchView(np.random.default_rng(seed), Stub(std=5.0), evals_left=1000)
        answer(view, strategy, strategy.ask(view, 1))
        return strategy.ask(view, 1)

    assert run(1) == run(1)
    assert run(1) != run(2)  # a large spread: the draws, not the means, decide


def test_npenas_children_come_from_the_incumbent_and_the_predictor_picks():
    strategy = NPENAS(init=8, k=4, candidates=50, parents=1)
    view = SearchView(np.random.default_rng(1), Stub(), evals_left=1000)
    first = strategy.ask(view, 1)
    answer(view, strategy, first)
    incumbent = max(first, key=lambda c: (value(c), -first.index(c)))
    picks = strategy.ask(view, 1)
    assert len(picks) == 4
    assert all(1 <= distance(p, incumbent) <= 2 for p in picks)
    near = {tuple(m2) for m in space.mutations(incumbent) for m2 in [m, *space.mutations(m)]} - {incumbent}
    assert min(Stub().score(picks)) >= sorted(Stub().score(sorted(near)))[-50]


def test_weaknas_samples_m_of_the_predicted_top_n_of_the_whole_space():
    strategy = WeakNAS(init=5, top_n=20, m=6)
    view = SearchView(np.random.default_rng(2), Stub(), evals_left=1000)
    answer(view, strategy, strategy.ask(view, 1))
    picks = strategy.ask(view, 1)
    assert len(picks) == 6 and len(set(picks)) == 6
    scores = Stub().score(space.all_cells())
    threshold = np.sort(scores)[-20 - 5]  # top 20 of the unevaluated cells (5 are evaluated)
    assert min(Stub().score(picks)) >= threshold


def test_weaknas_without_scores_draws_at_random():
    strategy = WeakNAS(init=0, top_n=20, m=6)
    view = SearchView(np.random.default_rng(3), None, evals_left=1000)
    picks = strategy.ask(view, 1)
    assert len(picks) == 6


def test_steepest_local_search_pays_the_whole_neighbourhood_then_moves_to_its_best():
    strategy = SteepestLocalSearch(init=1)
    view = SearchView(np.random.default_rng(4), None, evals_left=10_000)
    start = strategy.ask(view, 1)
    assert len(start) == 1
    answer(view, strategy, start)
    ring = strategy.ask(view, 1)
    assert set(ring) == set(space.mutations(start[0]))  # all 24 one-edge neighbours
    answer(view, strategy, ring)
    best = max(ring, key=value)
    nxt = strategy.ask(view, 1)
    if value(best) > value(start[0]):
        assert set(nxt) == set(space.mutations(best)) - set(ring) - set(start)
    else:
        assert len(nxt) == 1  # a local optimum: restart


def test_steepest_local_search_restarts_at_a_local_optimum():
    strategy = SteepestLocalSearch(init=1)
    view = SearchView(np.random.default_rng(5), None, evals_left=10_000)
    optimum = (3, 3, 3, 3, 3, 3)  # value 1: no neighbour beats it
    strategy._started = True
    strategy._batch = [optimum]
    answer(view, strategy, [optimum])
    ring = strategy.ask(view, 1)
    answer(view, strategy, ring)
    restart = strategy.ask(view, 1)
    assert len(restart) == 1 and restart[0] not in ring and restart[0] != optimum


@pytest.mark.parametrize("name, paper", [("bananas", "BANANAS"), ("npenas", "NPENAS"), ("weaknas", "WeakNAS"),
                                         ("ls", "White"), ("re", "Real"), ("tpe", "TPE")])
def test_the_literature_strategies_are_registered_under_their_names_with_their_papers(name, paper):
    from nasbench_rank.plugins import get_plugins

    registry = get_plugins().searches
    assert name in registry
    assert paper in registry.get(name).description


def test_bananas_is_refused_up_front_with_a_predictor_without_predict_std(table):
    from nasbench_rank.errors import UserError
    from nasbench_rank.loop.runs import run_search

    with pytest.raises(UserError, match="predict_std"):
        run_search("xgb", "bananas", dataset="cifar10", mode="online", budget=20, table=table)
