"""The child's side of `loop.isolation`: the entry point of a plugin's process and the server that
builds the plugin and answers the framework's commands. Nothing here is imported by the framework's
process except to name the entry point."""

from __future__ import annotations

import json
import pickle
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import UserError
from .protocol import Request


def _write(conn, header: dict, arrays: Sequence[np.ndarray] = ()) -> None:
    """Child -> framework: a JSON header, then one raw frame per array (`isolation._read` parses it)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    conn.send_bytes(json.dumps({"h": header, "a": [[str(a.dtype), list(a.shape)] for a in arrays]}).encode())
    for a in arrays:
        conn.send_bytes(a.tobytes())


def _count_cores_before_the_hook() -> None:
    """joblib (which scikit-learn calls when it parallelises, e.g. in neighbour searches) counts the
    physical cores by starting `lscpu` on first use and caches the answer. Counted here, before the
    hook refuses starting programs, an honest plugin using such a library is not voided."""
    try:
        from joblib import cpu_count
    except ImportError:
        return
    cpu_count(only_physical_cores=True)


def main(conn, protected: list[str]) -> None:
    """Entry point of a plugin's process: the audit hook first, then serve commands until closed.
    Ctrl-C is the framework's to handle (it stops this process): ignored here, so that it prints
    nothing of its own."""
    import signal

    from . import audit

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _count_cores_before_the_hook()
    audit.install(protected)
    server = _Server(conn)
    try:
        server.serve()
    finally:
        conn.close()


class _RemoteScorer:
    """The child's stand-in for the framework's scorer: asks the framework for every score."""

    def __init__(self, server: "_Server", name: str, has_std: bool):
        self._server = server
        self.name = name
        self.has_std = has_std

    def score(self, cells):
        return self._server.ask_parent("score", cells)

    def std(self, cells):
        return self._server.ask_parent("std", cells)


class _Server:
    def __init__(self, conn):
        self.conn = conn
        self.kind = None
        self.plugin = None
        self.view = None
        self.space = None
        self.models: dict[int, Any] = {}
        self.make: Callable[[], Any] | None = None

    def reply(self, header: dict, arrays: Sequence[np.ndarray] = ()) -> None:
        from . import audit

        refused = audit.refusals()
        if refused:
            header = {**header, "refused": refused[:3]}
        _write(self.conn, header, arrays)

    def ask_parent(self, op: str, cells) -> np.ndarray | None:
        arr = self.space.as_array(cells)  # a malformed cell fails here, in the plugin, as it would in-process
        self.reply({"op": op}, [arr])
        answer = pickle.loads(self.conn.recv_bytes())
        if "raise" in answer:
            raise UserError(answer["raise"])
        values = answer.get("values")
        return None if values is None else np.asarray(values, dtype=np.float32)

    def serve(self) -> None:
        # Commands come only from the framework that started this process, over its own pipe (never
        # from a file): the framework reads this process's replies as JSON and arrays, never unpickled.
        while True:
            try:
                command = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                return
            op = command.get("op")
            if op == "close":
                return
            try:
                header, arrays = self.handle(op, command)
            except UserError as exc:
                self.reply({"op": "error", "kind": "user", "message": _one_line(exc),
                            "exit_code": getattr(exc, "exit_code", 2)})
                continue
            except Exception as exc:
                self.reply({"op": "error", "kind": "plugin", "message": f"{type(exc).__name__}: {_one_line(exc)}"})
                continue
            self.reply({"op": "ok", **header}, arrays)

    def handle(self, op: str, command: dict) -> tuple[dict, list]:
        if op == "hello":
            return {}, []
        if op == "create":
            return self.create(command), []
        if self.kind == "search":
            return self.strategy_call(op, command)
        return self.predictor_call(op, command)

    def create(self, command: dict) -> dict:
        self.kind = command["kind"]
        self.space = command["space"]
        factory = command.get("factory")
        name = command["name"]
        if factory is None:
            from ..plugins import get_plugins

            registry = get_plugins().searches if self.kind == "search" else get_plugins().predictors
            if name not in registry:
                raise UserError(f"{self.kind} {name!r} cannot be built in a process of its own: its factory does not "
                                "pickle (a lambda, or a class defined inside a function) and no installed plugin "
                                "registers it; define it at a module's top level, or run in-process")
            factory = registry.get(name).factory
        kwargs = dict(command.get("kwargs") or {})

        def build() -> Any:
            try:
                return factory(**kwargs)
            except TypeError as exc:
                raise UserError(f"{self.kind} {name!r} rejected its settings: {exc}") from None

        if self.kind == "search":
            from .strategy import Strategy

            self.plugin = build()
            needs = getattr(self.plugin, "needs_fidelities", ()) or ()
            return {"info": {"init": _int_or_zero(getattr(self.plugin, "init", 0)),
                             "needs_std": bool(getattr(self.plugin, "needs_std", False)),
                             "needs_fidelities": [int(f) for f in needs],
                             "tell_noop": getattr(type(self.plugin), "tell", None) is Strategy.tell}}
        from ..seeding import apply_seed
        from ..spaces import give_space

        explicit = dict(command.get("explicit") or {})

        def make() -> Any:
            model = build()
            apply_seed(model, command["seed"], explicit)
            give_space(model, self.space, name, explicit)
            return model

        self.make = make
        prototype = make()
        return {"info": {"has_std": callable(getattr(prototype, "predict_std", None)),
                         "has_partial_fit": callable(getattr(prototype, "partial_fit", None))}}

    # -- a strategy --------------------------------------------------------------------------------
    def apply(self, state: dict) -> None:
        from .protocol import Observation
        from .view import SearchView

        begin = state.get("begin")
        if begin is not None:
            scorer = None if begin["scorer"] is None else _RemoteScorer(self, **begin["scorer"])
            self.view = SearchView(begin["rng"], scorer, workers=begin["workers"], space_=self.space,
                                   fidelities=begin["fidelities"])
        view = self.view
        for cell, fidelity, value, cost in state["observations"]:
            view._observe(Observation(tuple(cell), fidelity, value, cost))
        view._pending = tuple(Request(tuple(c), f) for c, f in state["pending"])
        view._evals_left = state["evals_left"]
        view._gpu_hours_left = state["gpu_hours_left"]
        view._evals_used = state["evals_used"]
        view._gpu_hours_used = state["gpu_hours_used"]
        view._clock_hours = state["clock_hours"]

    def strategy_call(self, op: str, command: dict) -> tuple[dict, list]:
        from .protocol import Observation

        self.apply(command["state"])
        if op == "ask":
            return {"proposals": _express(self.plugin.ask(self.view, command["n"]))}, []
        if op == "tell":
            told = [Observation(tuple(c), f, v, k) for c, f, v, k in command["observations"]]
            self.plugin.tell(self.view, told)
            return {}, []
        raise ValueError(f"unknown command {op!r}")

    # -- a predictor -------------------------------------------------------------------------------
    def predictor_call(self, op: str, command: dict) -> tuple[dict, list]:
        for ident in command.get("drop", ()):
            self.models.pop(ident, None)
        ident = command["id"]
        X = command["X"]
        if op == "fit":
            model = self.make()
            model.fit(X, command["y"])
            self.models[ident] = model
            return {}, []
        model = self.models.get(ident)
        if op == "partial_fit":
            if model is None:
                raise ValueError("partial_fit of a model never fitted")
            model.partial_fit(X, command["y"])
            return {}, []
        if model is None:
            raise ValueError(f"{op} of a model never fitted")
        out = model.predict(X) if op == "predict" else model.predict_std(X)
        return {}, [np.asarray(out, dtype=np.float64)]


def _express(proposals: Any) -> dict:
    """What `ask` returned, in a form that crosses back safely (the framework checks it as always)."""
    if proposals is None or isinstance(proposals, (str, bytes, Request)) or not hasattr(proposals, "__iter__"):
        return {"not_a_list": type(proposals).__name__}
    if isinstance(proposals, np.ndarray) and proposals.ndim == 1:
        return {"one_d": True}
    items = []
    for p in proposals:
        cell, fidelity = (p.cell, p.fidelity) if isinstance(p, Request) else (p, None)
        try:
            values = [v if isinstance(v, (bool, str)) else (int(v) if isinstance(v, (int, np.integer)) else float(v))
                      for v in cell] if not isinstance(cell, (str, bytes)) else None
        except (TypeError, ValueError):
            values = None
        if values is None:
            items.append({"repr": repr(p)[:80]})
            continue
        item = {"cell": values}
        if isinstance(p, Request):
            if isinstance(fidelity, np.integer):
                fidelity = int(fidelity)
            item["fidelity"] = fidelity if isinstance(fidelity, (int, float, str)) or fidelity is None else repr(fidelity)
        items.append(item)
    return {"items": items}


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__



def _int_or_zero(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0
