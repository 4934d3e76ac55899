"""The process boundary around plugins: same results as in-process, one child per run, the mode in
every row, bad settings refused before work, and the built-in predictors kept in-process because
they reach for nothing but their inputs."""

from __future__ import annotations

import ast
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

import nasbench_rank
from nasbench_rank.errors import UserError
from nasbench_rank.loop import isolation
from nasbench_rank.loop.audit import protected_paths
from nasbench_rank.loop.view import SearchView, SpaceView

try:
    from nasbench_rank.loop.runs import RUN_COLUMNS, run_search
except ImportError:  # before the modules found their final places
    from nasbench_rank.search import RUN_COLUMNS, run_search

XGB = {"n_estimators": 5, "max_depth": 2}
#: Columns that may differ between two runs of the same setting: the mode itself and wall-clock times.
TIMING = {"isolation", "fit_seconds_total", "search_seconds_excl_fit", "search_seconds_per_eval"}


def _same(a: dict, b: dict) -> list[str]:
    def equal(x, y):
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            return True
        return x == y

    return [c for c in a if c not in TIMING and not equal(a[c], b[c])]


@pytest.mark.parametrize("predictor, search, mode, kwargs", [
    (None, "random", "pretrained", {}),
    ("xgb", "topk", "online", {"predictor_kwargs": XGB, "search_kwargs": {"init": 5, "k": 2}}),
    ("ridge", "topk", "pretrained+online", {"n_train": 20, "search_kwargs": {"init": 2, "k": 2}}),
])
def test_an_isolated_run_gives_the_rows_of_an_in_process_one(table, predictor, search, mode, kwargs):
    if predictor == "ridge" and "ridge" not in nasbench_rank.plugins.get_plugins().predictors:
        pytest.skip("the example plugin distribution is not installed")
    rows = {}
    for mode_ in isolation.ISOLATION_MODES:
        rows[mode_] = run_search(predictor, search, mode=mode, budget=12, seed=3, table=table, isolation=mode_,
                                 **kwargs)
    (run_p, trace_p), (run_i, trace_i) = rows["process"], rows["in-process"]
    assert run_p["isolation"] == "process" and run_i["isolation"] == "in-process"
    assert _same(run_p, run_i) == []
    assert [_same(a, b) for a, b in zip(trace_p, trace_i)] == [[]] * len(trace_i)


def test_the_isolation_column_is_in_the_run_row():
    assert "isolation" in RUN_COLUMNS


def test_one_process_serves_every_call_of_a_run(table, monkeypatch):
    started = []
    original = isolation.PluginProcess.start
    monkeypatch.setattr(isolation.PluginProcess, "start", lambda self: (started.append(self.what), original(self)))
    row, trace = run_search(None, "random", budget=6, table=table)
    assert started == ["search plugin 'random'"] and len(trace) == 6


@pytest.mark.parametrize("bad", ["isolated", "", None, "process "])
def test_an_unknown_isolation_is_refused_in_one_line(table, bad):
    with pytest.raises(UserError, match="unknown isolation") as info:
        run_search(None, "random", budget=2, table=table, isolation=bad)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, "abc", float("nan"), float("inf"), True])
def test_a_bad_plugin_timeout_is_refused_in_one_line(table, bad):
    with pytest.raises(UserError, match="plugin timeout must be a positive number of seconds"):
        run_search(None, "random", budget=2, table=table, plugin_timeout=bad)


def test_a_bad_timeout_in_the_environment_is_refused_naming_it(table, monkeypatch):
    monkeypatch.setenv(isolation.TIMEOUT_ENV, "soon")
    with pytest.raises(UserError, match=isolation.TIMEOUT_ENV) as info:
        run_search(None, "random", budget=2, table=table)
    assert info.value.exit_code == 2


def test_the_timeout_comes_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv(isolation.TIMEOUT_ENV, "2.5")
    assert isolation.plugin_timeout() == 2.5 and isolation.plugin_timeout(7) == 7.0
    monkeypatch.delenv(isolation.TIMEOUT_ENV)
    assert isolation.plugin_timeout() == isolation.DEFAULT_TIMEOUT_S


def test_a_strategy_with_bad_settings_is_refused_with_exit_2(table):
    with pytest.raises(UserError, match="k must be an integer >= 1") as info:
        run_search(None, "topk", budget=12, table=table, search_kwargs={"k": 0})
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_nothing_holding_a_table_is_sent_to_a_plugins_process(table):
    from nasbench_rank.loop.oracle import as_benchmark

    with pytest.raises(pickle.PicklingError, match="must not be sent"):
        isolation._pickled({"space": as_benchmark(table)})
    with pytest.raises(pickle.PicklingError, match="must not be sent"):
        isolation._pickled([table])
    assert pickle.loads(isolation._pickled({"space": as_benchmark(table).space})) is not None


def test_the_benchmark_data_is_under_a_protected_path():
    roots = protected_paths()
    table = (Path(nasbench_rank.__file__).parent / "data" / "nb201.csv.gz").resolve()
    assert any(str(table).startswith(r) for r in roots)


def test_the_views_space_is_not_the_callers_object():
    from nasbench_rank.spaces import default_space

    space = default_space()
    view = SearchView(np.random.default_rng(0), None, space_=space)
    assert view.space._space is not space and type(view.space._space) is type(space)
    view.space._space.ordinal = lambda element: 0
    assert space.ordinal((1, 1, 1, 1, 1, 1)) != 0
    assert SpaceView(space).ordinal((1, 1, 1, 1, 1, 1)) == space.ordinal((1, 1, 1, 1, 1, 1))


#: What a built-in predictor must not use: ways into the caller's frames, objects or the oracle.
FORBIDDEN_NAMES = {"gc", "inspect", "_getframe", "f_back", "f_locals", "f_globals", "get_objects", "get_referrers",
                   "oracle", "Oracle", "ledger"}
#: Built-in predictors that read benchmark data by design: the proxies (a parameter count, and the
#: 12-epoch result that they charge for).
READS_BENCHMARK = {"proxies.py"}


def _predictor_modules() -> list[Path]:
    """The modules the built-in predictors' factories live in."""
    import importlib.util
    import sys

    from nasbench_rank.plugins import get_plugins, lazy

    names = set()
    for entry in get_plugins().predictors:
        if entry.source.startswith("nasbench-rank"):
            factory = entry.factory
            names.add(factory.target.partition(":")[0] if isinstance(factory, lazy) else factory.__module__)
    paths = set()
    for name in names:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) or importlib.util.find_spec(name).origin
        paths.add(Path(origin))
    return sorted(paths)


@pytest.mark.parametrize("path", _predictor_modules(), ids=lambda p: p.name)
def test_a_built_in_predictor_reaches_for_no_frame_object_or_oracle(path):
    tree = ast.parse(path.read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.alias):
            used.update(node.name.split("."))
        elif isinstance(node, ast.ImportFrom) and node.module:
            used.update(node.module.split("."))
    assert used & FORBIDDEN_NAMES == set()
    if path.name not in READS_BENCHMARK:
        assert used & {"bench", "tables", "load"} == set(), "reads benchmark data"


def test_the_static_check_catches_a_predictor_that_walks_frames(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nclass P:\n    def fit(self, X, y):\n        sys._getframe().f_back\n")
    with pytest.raises(AssertionError):
        test_a_built_in_predictor_reaches_for_no_frame_object_or_oracle(bad)


def test_third_party_predictors_get_a_process_of_their_own_and_built_ins_do_not():
    from nasbench_rank.plugins import get_plugins

    registry = get_plugins().predictors
    assert not isolation.isolates_predictor("xgb", "process")
    assert not isolation.isolates_predictor("ridge", "in-process") if "ridge" in registry else True
    if "ridge" in registry:  # the example distribution, named nasbench-rank-ridge
        assert isolation.isolates_predictor("ridge", "process")


def test_an_isolated_third_party_predictor_fits_in_another_process(table, monkeypatch):
    if "ridge" not in nasbench_rank.plugins.get_plugins().predictors:
        pytest.skip("the example plugin distribution is not installed")
    started = []
    original = isolation.PluginProcess.start
    monkeypatch.setattr(isolation.PluginProcess, "start", lambda self: (started.append(self.what), original(self)))
    run_search("ridge", "topk", mode="online", budget=8, table=table, search_kwargs={"init": 5, "k": 1})
    assert started == ["search plugin 'topk'", "predictor 'ridge'"]
