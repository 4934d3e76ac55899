"""A hostile strategy: from the SearchView it is given, no attribute path (public or underscored,
through closures, bound methods, defaults, containers or classes) reaches the table, the oracle, its
ledger or any test accuracy. Module objects (and so functions' __globals__) are not followed: any
Python code can import the package itself; what is pinned here is that nothing handed over leads there.
"""

from __future__ import annotations

import functools
import types
from collections import deque

import numpy as np
import pandas as pd
import pytest

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.loop.oracle import Entry as LedgerEntry
from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.strategy import Strategy
from nasbench_rank.plugins import Entry, get_plugins
from nasbench_rank.loop.runs import run_search

# These tests drive the loop with strategies set up at run time (closures, class attributes): in-process.
run_search = functools.partial(run_search, isolation="in-process")

XGB = {"n_estimators": 5, "max_depth": 2}


def reachable(root) -> list:
    """Every object reachable from `root` by attributes, closures, bound methods, defaults and containers."""
    seen, out, todo = set(), [], [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (str, bytes, int, float, bool, type(None))):
            continue
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            todo.extend(obj)
        if isinstance(obj, types.FunctionType):
            todo.extend(c.cell_contents for c in (obj.__closure__ or ()) if _filled(c))
            todo.extend(obj.__defaults__ or ())
            todo.extend((obj.__kwdefaults__ or {}).values())
            continue  # __globals__ is a module's namespace
        if isinstance(obj, (types.MethodType,)):
            todo.extend((obj.__self__, obj.__func__))
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            todo.append(obj.__func__)
        if isinstance(obj, property):
            todo.extend(f for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
        if isinstance(obj, type):
            if obj.__module__ in ("builtins",) or obj.__module__.startswith(("numpy", "pandas")):
                continue
            todo.extend(obj.__dict__.values())
            continue
        todo.append(type(obj))
        if hasattr(obj, "__dict__"):
            todo.append(vars(obj))
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                todo.append(getattr(obj, slot))
    return out


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def forbidden(objects, table) -> list[str]:
    """What in `objects` is ground truth: the table, an oracle, ledger entries, frames, table columns."""
    columns = [np.asarray(table.df[c]) for c in table.df.columns if table.df[c].dtype.kind == "f"]
    found = []
    for obj in objects:
        if isinstance(obj, (bench.Table, Oracle, LedgerEntry, pd.DataFrame, pd.Series)):
            found.append(type(obj).__name__)
        elif isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size >= 1000:
            flat = obj.reshape(-1)
            for col in columns:
                if np.shares_memory(flat, col) or (flat.shape == col.shape and np.allclose(flat, col, equal_nan=True))\
                        or (flat.shape == col.shape and np.allclose(flat * 100, col, atol=1e-3, equal_nan=True)):
                    found.append("a table column")
    return found


class Probe(Strategy):
    """Walks its view at every ask, then proposes random cells."""

    walks: list = []

    def ask(self, view, n):
        Probe.walks.append(reachable(view))
        free = np.flatnonzero(~view.evaluated_mask())
        return [tuple(int(v) for v in view.space.all_cells()[view.rng.choice(free)])]


@pytest.fixture
def probe():
    registry = get_plugins().searches
    registry.add(Entry("probe-test-only", "search", Probe, "tests", ""))
    Probe.walks = []
    yield Probe
    del registry._entries["probe-test-only"]


@pytest.mark.parametrize("predictor, mode", [(None, "pretrained"), ("xgb", "online"), ("xgb", "pretrained+online"),
                                             ("xgb-ensemble", "pretrained")])
def test_nothing_reachable_from_the_view_leads_to_ground_truth(table, probe, predictor, mode):
    kwargs = {} if predictor is None else {"predictor_kwargs": {"n_models": 2, "base_kwargs": XGB}
                                           if predictor == "xgb-ensemble" else XGB}
    run_search(predictor, "probe-test-only", mode=mode, budget=8, n_train=20, seed=1, table=table, **kwargs)
    assert len(probe.walks) == 8
    for objects in (probe.walks[0], probe.walks[-1]):
        assert forbidden(objects, table) == []
        names = {type(o).__name__ for o in objects}
        assert {"SearchView", "SpaceView", "Generator"} <= names
        assert ("Observation" in names) == (objects is probe.walks[-1])
        if predictor is not None:
            assert "Scorer" in names  # the walk does reach the predictor's side


def test_the_walk_finds_the_table_when_it_is_reachable(table):
    oracle = Oracle(table, "cifar10")
    holder = types.SimpleNamespace(fn=lambda: oracle)
    assert "Oracle" in forbidden(reachable(holder), table)
    assert "Table" in forbidden(reachable(holder), table)


def forbidden_in(objects, bm, dataset) -> list[str]:
    """What in `objects` is ground truth of any space: a benchmark, an oracle, ledger entries, frames,
    or an array holding a metric's values (or utilities, or fractions, or per-seed results) of `dataset`."""
    from nasbench_rank.spaces import Benchmark

    truth = []
    for name in bm.metrics:
        values = np.asarray(bm.values(dataset, name), dtype=np.float64)
        truth += [values, -values, values / 100.0]
    per_seed = bm.per_seed(dataset, bm.default_metric)
    if per_seed is not None:
        truth += [per_seed.reshape(-1), -per_seed.reshape(-1)]
    found = []
    for obj in objects:
        if isinstance(obj, (Benchmark, bench.Table, Oracle, LedgerEntry, pd.DataFrame, pd.Series)):
            found.append(type(obj).__name__)
        elif isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size >= 1000:
            flat = obj.reshape(-1).astype(np.float64)
            for t in truth:
                if flat.shape == t.shape and np.allclose(flat, t, rtol=1e-6, atol=0, equal_nan=True):
                    found.append("a table column")
    return found


@pytest.mark.parametrize("space_name, dataset", [("nbgraph", "cora"), ("nbgraph", "proteins"),
                                                 ("fcnet", "naval_propulsion"), ("nb201", "cifar100")])
@pytest.mark.parametrize("mode", [None, "online", "pretrained+online"])
def test_nothing_reachable_from_the_view_leads_to_ground_truth_on_every_space(probe, space_name, dataset, mode):
    from space_predictor import registered

    from nasbench_rank import spaces

    pytest.importorskip("nas_bench_graph")
    bm = spaces.load(space_name)
    with registered() as ridge:
        kwargs = {} if mode is None else {"mode": mode, "n_train": 20}
        run_search(ridge if mode else None, "probe-test-only", dataset=dataset, budget=8, seed=1, table=bm,
                   oracle="seed" if space_name == "fcnet" else "mean", **kwargs)
    assert len(probe.walks) == 8
    for objects in (probe.walks[0], probe.walks[-1]):
        assert forbidden_in(objects, bm, dataset) == []
        names = {type(o).__name__ for o in objects}
        assert {"SearchView", "SpaceView", "Generator"} <= names
        if mode is not None:  # the predictor is reached (an online one once it has a model)
            assert "Scorer" in names and ("SpaceRidge" in names or (mode == "online" and objects is probe.walks[0]))


def test_the_walk_finds_a_benchmark_when_it_is_reachable():
    from nasbench_rank import spaces

    bm = spaces.load("fcnet")
    oracle = Oracle(bm, "naval")
    holder = types.SimpleNamespace(fn=lambda: oracle, values=bm.values("naval", "valid").copy())
    found = forbidden_in(reachable(holder), bm, "naval_propulsion")
    assert "Oracle" in found and "FCNetBenchmark" in found and "a table column" in found
