"""Plugins in a process of their own: a strategy, or a third-party predictor, runs where no benchmark
table is loaded, and learns exactly what the protocol sends it.

The framework starts one child per search run (`forkserver`, or `spawn` where there is no
forkserver: never `fork`, which would copy the table into the child), reused for every call of that
run. The child installs the audit hook of `loop.audit` before the plugin is loaded, then serves:

- a strategy (`StrategyProcess`): it is built in the child from its factory and settings; the
  framework sends its view's data (the space, pickled, which holds no table; the seeded rng; the
  strategy's own observations, pending requests and budget, as they change) and the child answers
  `ask` with proposals and `tell` with nothing; the strategy's `view.score` / `view.std` come back to
  the framework, which scores with the predictor it fitted and sends the numbers;
- a predictor (`PredictorProcess`): built, seeded and given its space in the child; `fit` gets
  training cells and labels, `predict` / `predict_std` cells, `partial_fit` cells and labels.

What crosses from the framework to the child is pickled (the framework trusts itself); what comes
back is JSON plus raw arrays of a few plain dtypes (`_read`), so that nothing a plugin sends can run
code in the framework. A child that does not answer within the per-call limit (`timeout_s`), that
dies, that raises, or whose process tried to read benchmark data (`loop.audit`) stops the run with
one line naming the plugin (exit 1); the run writes no row.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import pickle
import threading
from typing import Any, Callable

import numpy as np

from ..errors import UserError
from .child import main as child_main
from .protocol import PredictionError, Request, StrategyError

#: What a row's `isolation` column says.
PROCESS, IN_PROCESS = "process", "in-process"
ISOLATION_MODES: tuple[str, ...] = (PROCESS, IN_PROCESS)
#: The per-call limit: seconds a plugin's process may take to answer one call (ask, tell, fit, ...).
TIMEOUT_ENV = "NASBENCH_RANK_PLUGIN_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0
#: Starting a plugin's process and building the plugin (its imports) may take at least this long.
START_TIMEOUT_S = 120.0
#: The largest message a child may send back (bytes per frame).
MAX_FRAME = 1 << 28
_DTYPES = {"float32", "float64", "int64", "bool"}
#: What the fork server imports once, so that each child starts in milliseconds: libraries and this
#: package's own modules (no plugin of a third party, no table). scikit-learn's base, which most
#: predictor plugins build on, saves an isolated predictor seconds of imports in every run.
PRELOAD: tuple[str, ...] = ("numpy", "pandas", "sklearn.base", "joblib", "nasbench_rank.loop.child", "nasbench_rank.loop.audit",
                            "nasbench_rank.spaces.nb201", "nasbench_rank.plugins")


def check_isolation(value: Any) -> str:
    if value not in ISOLATION_MODES:
        raise UserError(f"unknown isolation {value!r}; known: {', '.join(ISOLATION_MODES)}")
    return value


def plugin_timeout(value: Any = None) -> float:
    """The per-call limit in seconds: `value`, else $NASBENCH_RANK_PLUGIN_TIMEOUT, else the default."""
    source = "plugin timeout"
    if value is None:
        raw = os.environ.get(TIMEOUT_ENV, "").strip()
        if not raw:
            return DEFAULT_TIMEOUT_S
        value, source = raw, TIMEOUT_ENV
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not (0 < seconds < float("inf")):
        raise UserError(f"{source} must be a positive number of seconds, got {value!r}")
    return seconds


# --- the wire ------------------------------------------------------------------------------------
class _Stopped(Exception):
    """The child did not answer in time, or its end of the pipe closed."""


def _read(conn, timeout: float, sentinel: Any = None) -> tuple[dict, list[np.ndarray]]:
    """Framework side of `child._write`: parses JSON and raw arrays of whitelisted dtypes only. `sentinel`:
    the child's process sentinel (its death ends the wait at once)."""
    from multiprocessing.connection import wait

    def frame() -> bytes:
        ready = wait([conn] + ([sentinel] if sentinel is not None else []), timeout)
        if not ready:
            raise _Stopped("timeout")
        if conn not in ready and not conn.poll(0):
            raise _Stopped("eof")
        try:
            return conn.recv_bytes(MAX_FRAME)
        except (EOFError, OSError) as exc:
            raise _Stopped("eof") from exc

    try:
        message = json.loads(frame())
        header, specs = message["h"], message["a"]
        arrays = []
        for dtype, shape in specs:
            if dtype not in _DTYPES or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise ValueError(f"array of {dtype} {shape}")
            arrays.append(np.frombuffer(frame(), dtype=dtype).reshape(shape).copy())
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except _Stopped:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise _Garbled(str(exc)) from None
    return header, arrays


class _Garbled(Exception):
    """The child sent something that is not a message of the protocol."""


# --- the framework's side ------------------------------------------------------------------------

_CONTEXT = None


def _context():
    """The start method: forkserver where there is one (a fork from a clean server that has imported
    only `PRELOAD`), else spawn. Never fork: it would copy the caller's tables."""
    global _CONTEXT
    if _CONTEXT is None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        _CONTEXT = multiprocessing.get_context(method)
        if method == "forkserver":
            _CONTEXT.set_forkserver_preload(list(PRELOAD))
    return _CONTEXT


@contextlib.contextmanager
def _without_main():
    """Start a child without re-running the caller's main module in it (multiprocessing would import
    a script's `__main__` again there: slow, and a script without a main guard would run twice).
    The child needs only this package and the plugin's own module."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data

    def preparation(name):
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    spawn.get_preparation_data = preparation
    try:
        yield
    finally:
        spawn.get_preparation_data = original


@contextlib.contextmanager
def _children_allowed():
    """Let a daemonic process (a dask worker) start a plugin's process. multiprocessing forbids it
    because a daemon is stopped without stopping its children; a plugin's process ends by itself
    when its pipe closes, and the framework stops it when the run ends."""
    config = multiprocessing.current_process()._config
    daemon = config.get("daemon")
    if daemon:
        config["daemon"] = False
    try:
        yield
    finally:
        if daemon:
            config["daemon"] = daemon


class _TableFreePickler(pickle.Pickler):
    """Pickles what the framework sends a child, refusing any benchmark or table on the way."""

    def reducer_override(self, obj):
        if isinstance(obj, _benchmark_class()) or type(obj).__name__ in ("Table", "DataFrame", "Oracle"):
            raise pickle.PicklingError(f"a {type(obj).__name__} must not be sent to a plugin's process")
        return NotImplemented


def _benchmark_class():
    from ..spaces.base import Benchmark

    return Benchmark


def _pickled(obj: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    _TableFreePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


_OPEN = threading.local()


def closes_plugin_processes(fn: Callable) -> Callable:
    """Decorate a function that starts plugin processes: every one it started (in this thread) is
    stopped when it returns or raises."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        outer = getattr(_OPEN, "started", None)
        _OPEN.started = []
        try:
            return fn(*args, **kwargs)
        finally:
            started, _OPEN.started = _OPEN.started, outer
            for process in started:
                process.close()

    return wrapper


class PluginProcess:
    """One plugin's child process, seen from the framework: `call` sends a command and serves the
    child's requests (`serve(op, header, arrays) -> reply`) until it answers."""

    error = StrategyError

    def __init__(self, what: str, timeout_s: float | None = None):
        self.what = what  # e.g. "search plugin 'random'", used in every message
        self.timeout_s = plugin_timeout(timeout_s)
        self.process = None
        self.conn = None
        self.start_seconds = 0.0

    def start(self) -> None:
        import time

        from .audit import protected_paths

        t0 = time.perf_counter()
        ctx = _context()
        parent, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=child_main, args=(child, protected_paths()), daemon=True,
                                   name=f"nasbench-rank {self.what}")
        with _without_main(), _children_allowed():
            self.process.start()
        child.close()
        started = getattr(_OPEN, "started", None)
        if started is not None:
            started.append(self)
        self.conn = parent
        self.call({"op": "hello"})
        self.start_seconds = time.perf_counter() - t0

    def call(self, command: dict, serve: Callable[[str, dict, list], Any] | None = None) -> tuple[dict, list]:
        starting = command.get("op") in ("hello", "create")
        limit = max(self.timeout_s, START_TIMEOUT_S) if starting else self.timeout_s
        if self.process is None:
            raise self.error(f"{self.what}: its process is not running")
        try:
            self.conn.send_bytes(_pickled(command))
        except (OSError, BrokenPipeError):
            self._fail(self._death())
        while True:
            try:
                header, arrays = _read(self.conn, limit, self.process.sentinel)
            except _Stopped as exc:
                if str(exc) != "timeout":
                    self._fail(self._death())
                if starting:
                    self._fail(f"did not start within {limit:g} s")
                self._fail(f"did not answer within {limit:g} s (the per-call limit; set it with --plugin-timeout "
                           f"or {TIMEOUT_ENV})")
            except _Garbled as exc:
                self._fail(f"sent a malformed message ({str(exc)[:80]})")
            refused = header.get("refused") or []
            if refused:
                self._fail(f"tried to read benchmark data or start a program from its process "
                           f"({str(refused[0])[:120]}); refused, the run is void")
            op = header.get("op")
            if op == "ok":
                return header, arrays
            if op == "error":
                self.close()
                message = str(header.get("message", ""))[:300].replace("\n", " ")
                if header.get("kind") == "user":
                    err = UserError(message)
                    err.exit_code = 2 if header.get("exit_code") == 2 else 1
                    raise err
                raise self.error(f"{self.what} failed: {message}")
            if serve is None or op not in ("score", "std"):
                self._fail(f"sent an unexpected message {str(op)[:40]!r}")
            try:
                reply = serve(op, header, arrays)
            except UserError as exc:
                if isinstance(exc, (PredictionError, StrategyError)):
                    self.close()
                    raise
                reply = {"raise": str(exc)}
            except BaseException:
                self.close()
                raise
            try:
                self.conn.send_bytes(_pickled(reply))
            except (OSError, BrokenPipeError):
                self._fail(self._death())

    def _death(self) -> str:
        self.process.join(2)
        code = self.process.exitcode
        if code is None:
            return "stopped answering (its end of the pipe closed)"
        if code < 0:
            return f"died (its process was killed by signal {-code})"
        return f"died (its process exited with code {code})"

    def _fail(self, why: str):
        self.close()
        raise self.error(f"{self.what} {why}; stopped")

    def close(self) -> None:
        process, conn = self.process, self.conn
        self.process = self.conn = None
        if process is None:
            return
        try:
            if process.is_alive():
                try:
                    conn.send_bytes(_pickled({"op": "close"}))
                except (OSError, BrokenPipeError):
                    pass
                process.join(1)
            if process.is_alive():
                process.terminate()
                process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)
        finally:
            conn.close()
            process.close() if process.exitcode is not None else None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _observation_rows(observations) -> list:
    return [[list(o.cell), int(o.fidelity), float(o.value), float(o.cost)] for o in observations]


class StrategyProcess(PluginProcess):
    """A strategy in its own process, with the ask/tell interface the loop calls. Its attributes
    `init`, `needs_std`, `needs_fidelities` are the strategy's own, read in the child."""

    error = StrategyError

    def __init__(self, name: str, factory: Any, kwargs: dict, space: Any, timeout_s: float | None = None):
        super().__init__(f"search plugin {name!r}", timeout_s)
        self.name = name
        self._sent = 0
        self._begun = False
        self.start()
        header, _ = self.call({"op": "create", "kind": "search", "name": name, "factory": _portable(factory),
                               "kwargs": kwargs, "space": space})
        info = header.get("info", {})
        self.init = _int_or_zero(info.get("init"))
        self.needs_std = bool(info.get("needs_std", False))
        self.needs_fidelities = tuple(int(f) for f in info.get("needs_fidelities", ()) if isinstance(f, int))
        self._tell_noop = bool(info.get("tell_noop", False))

    def _sync(self, view) -> dict:
        new = view._observations[self._sent:]
        self._sent = len(view._observations)
        state = {"observations": _observation_rows(new),
                 "pending": [[list(r.cell), int(r.fidelity)] for r in view._pending],
                 "evals_left": view._evals_left, "gpu_hours_left": view._gpu_hours_left,
                 "evals_used": view._evals_used, "gpu_hours_used": view._gpu_hours_used,
                 "clock_hours": view._clock_hours}
        if not self._begun:
            self._begun = True
            scorer = view._scorer
            state["begin"] = {"rng": view.rng, "workers": view.workers, "fidelities": view.fidelities,
                              "scorer": None if scorer is None else {"name": scorer.name, "has_std": scorer.has_std}}
        return state

    def _serve(self, view):
        def serve(op: str, header: dict, arrays: list) -> dict:
            cells = arrays[0] if arrays else np.zeros((0, view.space.width), dtype=np.int64)
            out = view.score(cells) if op == "score" else view.std(cells)
            return {"values": None if out is None else np.asarray(out, dtype=np.float32)}
        return serve

    def ask(self, view, n: int) -> list:
        header, _ = self.call({"op": "ask", "n": int(n), "state": self._sync(view)}, self._serve(view))
        proposals = _proposals(header.get("proposals"))
        if isinstance(proposals, _NotAList):
            self.close()
            raise StrategyError(f"{self.what}: ask returned {proposals.type_name}, not a list of requests")
        return proposals

    def tell(self, view, observations) -> None:
        if self._tell_noop:  # the strategy's tell does nothing: its view catches up at the next ask
            return
        self.call({"op": "tell", "state": self._sync(view), "observations": _observation_rows(observations)},
                  self._serve(view))


class _Shown:
    """A proposal the child could not express as a cell or a Request: shown by its repr in the error."""

    def __init__(self, text: str):
        self.text = str(text)[:80]

    def __repr__(self) -> str:
        return self.text


def _proposals(data: Any) -> Any:
    if not isinstance(data, dict):
        return _Shown(repr(data))
    if "not_a_list" in data:
        return _NotAList(str(data["not_a_list"])[:40])
    if data.get("one_d"):
        return np.zeros(6, dtype=np.int64)  # the loop's own message for a 1-d array
    out = []
    for item in data.get("items", []):
        if isinstance(item, dict) and "cell" in item:
            cell = item["cell"]
            cell = tuple(cell) if isinstance(cell, list) else _Shown(repr(cell))
            out.append(Request(cell, item.get("fidelity")) if "fidelity" in item else cell)
        else:
            out.append(_Shown(item.get("repr", "?") if isinstance(item, dict) else repr(item)))
    return out


class _NotAList:
    """Stands for what `ask` returned when it was not a list of requests (the loop names its type)."""

    def __init__(self, type_name: str):
        self.type_name = type_name


def _int_or_zero(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _portable(factory: Any) -> Any:
    """The factory itself when it pickles by reference (a class or `plugins.lazy`), else None: the
    child then finds it by name in its own plugin registry."""
    try:
        pickle.dumps(factory)
    except Exception:
        return None
    return factory


class PredictorProcess(PluginProcess):
    """A predictor plugin's child: holds the models of one run; `model()` gives a stand-in with
    `fit` / `predict` / `predict_std` / `partial_fit` that the surrogate uses like the predictor."""

    error = PredictionError

    def __init__(self, name: str, factory: Any, kwargs: dict, seed: int, explicit: dict, space: Any,
                 timeout_s: float | None = None):
        super().__init__(f"predictor {name!r}", timeout_s)
        self.name = name
        self._next = 0
        self._dropped: list[int] = []
        self.start()
        header, _ = self.call({"op": "create", "kind": "predictor", "name": name, "factory": _portable(factory),
                               "kwargs": kwargs, "seed": seed, "explicit": explicit, "space": space})
        info = header.get("info", {})
        self.has_std = bool(info.get("has_std"))
        self.has_partial_fit = bool(info.get("has_partial_fit"))

    def model(self) -> "RemoteModel":
        self._next += 1
        return RemoteModel(self, self._next)

    def _call_model(self, op: str, ident: int, X, y=None) -> np.ndarray | None:
        command = {"op": op, "id": ident, "X": np.asarray(X, dtype=np.int64),
                   "drop": self._dropped[:]}
        self._dropped.clear()
        if y is not None:
            command["y"] = np.asarray(y, dtype=np.float32)
        _, arrays = self.call(command)
        return arrays[0] if arrays else None


class RemoteModel:
    """One model living in a `PredictorProcess`; it is built (from the factory, seeded, given its
    space) there on the first `fit`."""

    def __init__(self, owner: PredictorProcess, ident: int):
        self._owner = owner
        self._id = ident
        if owner.has_std:
            self.predict_std = self._predict_std
        if owner.has_partial_fit:
            self.partial_fit = self._partial_fit

    def fit(self, X, y) -> "RemoteModel":
        self._owner._call_model("fit", self._id, X, y)
        return self

    def _partial_fit(self, X, y) -> "RemoteModel":
        self._owner._call_model("partial_fit", self._id, X, y)
        return self

    def predict(self, X) -> np.ndarray:
        return self._owner._call_model("predict", self._id, X)

    def _predict_std(self, X) -> np.ndarray:
        return self._owner._call_model("predict_std", self._id, X)

    def __del__(self):
        try:
            self._owner._dropped.append(self._id)
        except Exception:
            pass

# --- what the run's setup calls ------------------------------------------------------------------

def strategy_for(name: str, kwargs: dict, space: Any, isolation: str = PROCESS, timeout_s: float | None = None) -> Any:
    """The strategy `name` built with `kwargs`: in its own process (`isolation="process"`, a
    `StrategyProcess`), or the plugin object itself (`"in-process"`)."""
    from ..plugins import get_plugins

    check_isolation(isolation)
    registry = get_plugins().searches
    if isolation == IN_PROCESS:
        return registry.create(name, **kwargs)
    return StrategyProcess(name, registry.get(name).factory, kwargs, space, timeout_s)


def isolates_predictor(name: str, isolation: str) -> bool:
    """Whether predictor `name` runs in a process of its own: every third-party predictor unless the
    run is in-process; the built-ins stay in the framework's process (they are the framework's own
    code, and `tests/test_isolation.py` checks that they reach for no frame, `gc` or table)."""
    from ..plugins import BUILTIN_PLUGINS, get_plugins

    check_isolation(isolation)
    return isolation == PROCESS and get_plugins().predictors.get(name).plugin not in BUILTIN_PLUGINS
