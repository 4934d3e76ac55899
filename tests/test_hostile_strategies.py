"""Hostile plugins against the process boundary: a strategy (or a third-party predictor) that hunts
for the oracle through frames, `inspect`, `gc`, imports or the table file, or that writes to its
view, gains nothing, or its run is refused in one line; one that hangs, dies or raises stops the run
with one line naming it (exit 1) and no row."""

from __future__ import annotations

import gc
import gzip
import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nasbench_rank
from nasbench_rank.loop import PredictionError, Strategy, StrategyError
from nasbench_rank.plugins import Entry, get_plugins

try:
    from nasbench_rank.loop.runs import run_search
except ImportError:  # before the modules found their final places
    from nasbench_rank.search import run_search

BUDGET = 3


def _best_cell_of_oracle(oracle) -> tuple[int, ...]:
    values = oracle._values[200]
    return tuple(int(v) for v in oracle.space.element(int(np.nanargmax(values))))


def _best_cell_of_table(table) -> tuple[int, ...]:
    from nasbench_rank.loop.oracle import Oracle

    return _best_cell_of_oracle(Oracle(table, "cifar10", "valid"))


def _table_module():
    try:
        from nasbench_rank.tables import nb201
    except ImportError:  # before the modules found their final places
        from nasbench_rank import bench as nb201
    return nb201


def _is_oracle(obj) -> bool:
    return type(obj).__name__ == "Oracle" and hasattr(obj, "_values")


class _Cheat(Strategy):
    """Proposes the optimum when `find(view)` finds it, a random free cell otherwise."""

    def find(self, view):
        raise NotImplementedError

    def ask(self, view, n):
        try:
            cell = self.find(view)
        except Exception:  # a refused read raises here: the cheat carries on as if nothing happened
            cell = None
        if cell is None or view.is_evaluated(cell):
            free = np.flatnonzero(~view.evaluated_mask())
            cell = tuple(int(v) for v in view.space.element(int(view.rng.choice(free))))
        return [cell]


class FrameWalker(_Cheat):
    def find(self, view):
        frame = sys._getframe()
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if _is_oracle(value):
                    return _best_cell_of_oracle(value)
            frame = frame.f_back
        return None


class StackInspector(_Cheat):
    def find(self, view):
        for info in inspect.stack():
            for value in list(info.frame.f_locals.values()):
                if _is_oracle(value):
                    return _best_cell_of_oracle(value)
        return None


class GarbageCollector(_Cheat):
    def find(self, view):
        for obj in gc.get_objects():
            if _is_oracle(obj):
                return _best_cell_of_oracle(obj)
            if type(obj).__name__ == "Table" and hasattr(obj, "accuracy"):
                return _best_cell_of_table(obj)
        return None


class TableLoader(_Cheat):
    def find(self, view):
        return _best_cell_of_table(_table_module().load())


class FileReader(_Cheat):
    def find(self, view):
        path = Path(nasbench_rank.__file__).parent / "data" / "nb201.csv.gz"
        with gzip.open(path, "rt") as f:
            f.readline()
        return _best_cell_of_table(_table_module().load(path))


class ShellReader(_Cheat):
    def find(self, view):
        path = Path(nasbench_rank.__file__).parent / "data" / "nb201.csv.gz"
        subprocess.run(["cat", str(path)], capture_output=True, check=True)
        return None


class SpaceWriter(Strategy):
    """Patches its view's space (the object, as reached through the view) so that cell 0 maps to the
    optimum's ordinal, then proposes cell 0."""

    def __init__(self, target=(0, 0, 0, 0, 0, 0), on_class=False):
        self.target = tuple(target)
        self.on_class = on_class

    def ask(self, view, n):
        best = view.space.ordinal(self.target)
        owner = type(view.space._space) if self.on_class else view.space._space
        owner.ordinal = lambda *args: best
        owner.ordinals = lambda *args: np.full(len(list(args[-1])), best, dtype=np.int64)
        return [(0, 0, 0, 0, 0, 0)] if view.evals_used == 0 else []  # one evaluation, then stop


class Hangs(Strategy):
    def ask(self, view, n):
        time.sleep(3600)


class Exits(Strategy):
    def ask(self, view, n):
        os._exit(3)


class Raises(Strategy):
    def ask(self, view, n):
        raise RuntimeError("boom\nsecond line")


class PipeForger(Strategy):
    """Finds its process's end of the pipe and sends the framework a pickle instead of a message."""

    def ask(self, view, n):
        import pickle
        from multiprocessing.connection import Connection

        for obj in gc.get_objects():
            if isinstance(obj, Connection) and not obj.closed:
                obj.send_bytes(pickle.dumps({"op": "ok", "proposals": {"items": []}}))
        return []


STRATEGIES = {"frames": FrameWalker, "inspect": StackInspector, "gc": GarbageCollector, "import": TableLoader,
              "file": FileReader, "shell": ShellReader, "write": SpaceWriter, "hang": Hangs, "exit": Exits,
              "raise": Raises, "forge": PipeForger}


@pytest.fixture
def hostile():
    registry = get_plugins().searches
    for name, cls in STRATEGIES.items():
        registry.add(Entry(f"hostile-{name}", "search", cls, "tests", ""))
    yield
    for name in STRATEGIES:
        del registry._entries[f"hostile-{name}"]


@pytest.fixture(scope="module")
def optimum(table):
    return _best_cell_of_table(table)


@pytest.fixture(scope="module")
def index_of_cell_0(table):
    from nasbench_rank.loop.oracle import Oracle

    return Oracle(table, "cifar10").index_of((0, 0, 0, 0, 0, 0))


@pytest.mark.parametrize("name", ["frames", "inspect", "gc"])
def test_a_strategy_hunting_the_caller_for_the_oracle_finds_nothing(table, hostile, optimum, name):
    row, _ = run_search(None, f"hostile-{name}", budget=BUDGET, table=table)
    assert not row["reached_optimum"] and row["evals_to_optimum"] != 1
    assert row["isolation"] == "process"


@pytest.mark.parametrize("name, what", [("import", "nb201.csv"), ("file", "nb201.csv.gz"), ("shell", "subprocess")])
def test_a_strategy_reading_the_table_itself_is_refused_and_its_run_void(table, hostile, name, what):
    with pytest.raises(StrategyError, match="tried to read benchmark data") as info:
        run_search(None, f"hostile-{name}", budget=BUDGET, table=table)
    message = str(info.value)
    assert f"'hostile-{name}'" in message and what in message and "\n" not in message
    assert info.value.exit_code == 1


@pytest.mark.parametrize("isolation", ["process", "in-process"])
def test_writing_to_the_views_space_changes_nothing_the_oracle_answers(table, hostile, optimum, index_of_cell_0,
                                                                       isolation):
    mode = {} if isolation == "process" else {"isolation": isolation}  # the default is isolated
    row, trace = run_search(None, "hostile-write", budget=BUDGET, table=table, search_kwargs={"target": list(optimum)},
                            **mode)
    assert trace[0]["index"] == index_of_cell_0  # cell 0 was evaluated as cell 0
    assert not row["reached_optimum"] and row["evals_to_optimum"] != 1


def test_patching_the_space_class_in_its_own_process_changes_nothing_the_oracle_answers(table, hostile, optimum,
                                                                                       index_of_cell_0):
    row, trace = run_search(None, "hostile-write", budget=BUDGET, table=table,
                            search_kwargs={"target": list(optimum), "on_class": True})
    assert trace[0]["index"] == index_of_cell_0 and not row["reached_optimum"]


@pytest.mark.parametrize("name, message", [
    ("hang", "did not answer within 1 s"),
    ("exit", "died (its process exited with code 3)"),
    ("raise", "failed: RuntimeError: boom"),
    ("forge", "sent a malformed message"),
])
def test_a_strategy_that_hangs_dies_or_raises_stops_the_run_in_one_line(table, hostile, name, message):
    start = time.perf_counter()
    with pytest.raises(StrategyError) as info:
        run_search(None, f"hostile-{name}", budget=BUDGET, table=table, plugin_timeout=1)
    assert message in str(info.value) and f"'hostile-{name}'" in str(info.value)
    assert "\n" not in str(info.value) and info.value.exit_code == 1
    assert time.perf_counter() - start < 30


def test_a_strategy_raising_in_process_is_named_in_one_line(table, hostile):
    with pytest.raises(StrategyError, match="'hostile-raise' failed: RuntimeError: boom$"):
        run_search(None, "hostile-raise", budget=BUDGET, table=table, isolation="in-process")


# --- predictors --------------------------------------------------------------------------------

class CheatingPredictor:
    """A third-party predictor that looks for the oracle through `gc` when it is fitted and then
    predicts the oracle's own values (a plain constant model when it finds none)."""

    def __init__(self, how="gc"):
        self.how = how

    def fit(self, X, y):
        self.values_ = None
        if self.how == "gc":
            for obj in gc.get_objects():
                if _is_oracle(obj):
                    self.values_, self.space_ = obj._values[200], obj.space
        else:
            _table_module().load()
        return self

    def predict(self, X):
        if self.values_ is None:
            return np.zeros(len(X), dtype=np.float32)
        return self.values_[self.space_.ordinals(X)].astype(np.float32)


@pytest.fixture
def cheating_predictor():
    registry = get_plugins().predictors
    registry.add(Entry("cheating-test-only", "predictor", CheatingPredictor, "tests", ""))
    yield
    del registry._entries["cheating-test-only"]


def test_a_third_party_predictor_hunting_the_oracle_finds_nothing(table, cheating_predictor):
    row, _ = run_search("cheating-test-only", "topk", budget=1, table=table, n_train=10,
                        search_kwargs={"init": 0, "pool": "all", "k": 1})
    assert not row["reached_optimum"] and row["evals_to_optimum"] != 1
    assert row["isolation"] == "process"


def test_a_third_party_predictor_reading_the_table_is_refused(table, cheating_predictor):
    with pytest.raises(PredictionError, match="'cheating-test-only' tried to read benchmark data") as info:
        run_search("cheating-test-only", "topk", budget=BUDGET, table=table, n_train=10,
                   predictor_kwargs={"how": "import"}, search_kwargs={"init": 0, "pool": "all", "k": 1})
    assert "\n" not in str(info.value) and info.value.exit_code == 1


class CoreCountingPredictor:
    """An honest predictor whose library counts the machine's physical cores on first use, as
    scikit-learn's neighbour searches do through joblib (which starts `lscpu` to find out)."""

    def fit(self, X, y):
        from joblib import cpu_count

        self.cores_ = cpu_count(only_physical_cores=True)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_, dtype=np.float32)


def test_a_predictor_whose_library_counts_cores_is_not_refused(table):
    registry = get_plugins().predictors
    registry.add(Entry("cores-test-only", "predictor", CoreCountingPredictor, "tests", ""))
    try:
        row, _ = run_search("cores-test-only", "topk", budget=BUDGET, table=table, n_train=10,
                            search_kwargs={"init": 0, "pool": "all", "k": 1})
    finally:
        del registry._entries["cores-test-only"]
    assert row["isolation"] == "process" and row["evals"] == BUDGET
