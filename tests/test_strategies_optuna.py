"""The `optuna` search plugin: an Optuna study driven through the loop's ask/tell."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import UserError
from nasbench_rank.loop import Observation, SearchView
from nasbench_rank.plugins import get_plugins
from nasbench_rank.loop.runs import run_search

pytest.importorskip("optuna")


def _create(**kwargs):
    return get_plugins().searches.create("optuna", **kwargs)


@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc"])
def test_reproducible_on_a_seed(table, sampler):
    kw = {"sampler": sampler, "startup": 5}
    a = run_search(None, "optuna", budget=15, seed=3, table=table, search_kwargs=kw)[1]
    b = run_search(None, "optuna", budget=15, seed=3, table=table, search_kwargs=kw)[1]
    c = run_search(None, "optuna", budget=15, seed=4, table=table, search_kwargs=kw)[1]
    assert [r["index"] for r in a] == [r["index"] for r in b] != [r["index"] for r in c]


def test_proposals_are_cells_of_the_space_and_never_repeat():
    strategy = _create(sampler="tpe", startup=3)
    view = SearchView(np.random.default_rng(0), None, evals_left=1000)
    asked = []
    for _ in range(30):
        (request,) = strategy.ask(view, 1)
        assert space.validate(request.cell) == request.cell and request.fidelity == 200
        asked.append(request.cell)
        o = Observation(request.cell, 200, sum(request.cell) / 30.0, 1.0)
        view._observe(o)
        strategy.tell(view, [o])
    assert len(set(asked)) == 30


def test_a_known_cell_is_told_its_value_and_not_proposed_again():
    strategy = _create(sampler="random")
    view = SearchView(np.random.default_rng(1), None, evals_left=1000)
    (request,) = strategy.ask(view, 1)
    o = Observation(request.cell, 200, 0.625, 1.0)
    view._observe(o)
    strategy.tell(view, [o])
    study = strategy._study
    study.enqueue_trial({f"edge{e}": v for e, v in enumerate(request.cell)})  # the study asks for it again
    (second,) = strategy.ask(view, 1)
    assert second.cell != request.cell
    repeats = [t for t in study.trials if tuple(t.params[f"edge{e}"] for e in range(6)) == request.cell]
    assert len(repeats) == 2 and [t.value for t in repeats] == [0.625, 0.625]


def test_repeats_are_free_in_a_run(table):
    run, trace = run_search(None, "optuna", budget=30, seed=0, table=table, search_kwargs={"startup": 5})
    assert run["evals"] == 30
    assert len({r["index"] for r in trace}) == 30  # each paid evaluation is a new cell


@pytest.mark.parametrize("workers", [1, 4])
def test_runs_end_to_end_in_the_loop(table, workers):
    run, trace = run_search(None, "optuna", dataset="cifar100", budget=20, seed=1, table=table, workers=workers,
                            search_kwargs={"sampler": "tpe", "multivariate": True, "startup": 5})
    assert run["evals"] == 20 and run["search"] == "optuna" and run["workers"] == workers
    assert run["search_kwargs"] == "multivariate=True;sampler=tpe;startup=5"
    assert np.isfinite(run["best_metric"])


def test_gp_sampler_runs_on_categorical_choices(table):
    run, _ = run_search(None, "optuna", budget=6, seed=2, table=table, search_kwargs={"sampler": "gp", "startup": 4})
    assert run["evals"] == 6


def test_optuna_logging_is_silenced(table, capfd):
    run_search(None, "optuna", budget=12, seed=0, table=table, search_kwargs={"startup": 5})
    out, err = capfd.readouterr()
    assert "Trial" not in out + err and "optuna" not in (out + err).lower()


@pytest.mark.parametrize("kwargs, message", [
    ({"sampler": "cmaes"}, "optuna sampler must be one of tpe, gp, random, qmc"),
    ({"startup": 0}, "startup must be an integer >= 1"),
    ({"multivariate": "yes"}, "multivariate must be true or false"),
])
def test_bad_settings_are_refused_when_built(kwargs, message):
    with pytest.raises(UserError, match=message):
        _create(**kwargs)


def test_a_missing_optuna_install_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now raises ImportError
    with pytest.raises(UserError) as error:
        _create()
    assert str(error.value) == "search 'optuna' needs Optuna, an optional extra: pip install 'nasbench-rank[optuna]'"
    assert "\n" not in str(error.value)
