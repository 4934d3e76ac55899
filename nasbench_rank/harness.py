"""Run the cells of a grid spec, in parallel, resumably.

Layout of an output directory:

    cells/<cell id>.json        one per finished cell: settings, status, tidy rows, search trace
    predictions/<cell id>/...   files an evaluation cell saved (save_predictions = true)
    runs/<start>-<pid>.json     one metadata record per `bench` invocation

A cell file is written to a temporary name and renamed into place, so it either exists whole or not
at all: a run killed at any moment loses only the cells in flight, and the next run skips every cell
whose file says `ok`. Cells that failed are retried. Only the main process writes; workers return
their rows, so a distributed worker needs no shared filesystem.

Cells are independent and seeded by their settings alone, and every worker runs with the same
thread count (1 by default), so which worker ran a cell, and in what order, does not change its rows.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from . import __version__
from .errors import UserError
from .search import CACHE_ENV
from .spec import Cell, Spec

#: runner(kind, settings) -> {"rows": [...], "trace": [...], "files": {name: text}} ("rows" required).
Runner = Callable[[str, dict[str, Any]], dict[str, Any]]
EXECUTORS: tuple[str, ...] = ("local", "dask")
PREDICTIONS_CSV = "predictions.csv"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# Settings copied into every row of a cell so each row names its own protocol.
_IDENTITY: dict[str, tuple[str, ...]] = {
    "eval": ("predictor", "loss", "pool", "metric", "source", "n_train", "n_test", "seed"),
    "search": ("predictor", "loss", "search", "dataset", "source", "mode", "budget", "metric", "n_train", "seed"),
}


def default_runner(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Run one cell with the library's evaluation or search entry point."""
    s = settings
    if kind == "eval":
        from .evaluation import evaluate_predictor

        with tempfile.TemporaryDirectory(prefix="nasbench-rank-") as tmp:
            rows = evaluate_predictor(
                s["predictor"], loss=s["loss"], source=s["source"], targets=tuple(s["targets"]), pool=s["pool"],
                n_train=s["n_train"], n_test=s["n_test"], metric=s["metric"], seed=s["seed"],
                predictor_kwargs=s["predictor_kwargs"] or None, save_dir=tmp if s["save_predictions"] else None)
            files = {PREDICTIONS_CSV: predictions_csv(tmp, s, int(rows[0]["n_test"]))} if s["save_predictions"] else {}
        return {"rows": rows, "files": files}
    if kind == "search":
        from .search import run_search

        optional = {k: s[k] for k in ("source", "mode", "n_train", "loss") if s[k] is not None}
        row, trace = run_search(
            s["predictor"], s["search"], dataset=s["dataset"], budget=s["budget"], metric=s["metric"], seed=s["seed"],
            predictor_kwargs=s["predictor_kwargs"] or None, search_kwargs=s["search_kwargs"] or None, **optional)
        return {"rows": [row], "trace": trace}
    raise UserError(f"unknown cell kind {kind!r}")


def predictions_csv(saved: str | Path, settings: dict[str, Any], n_test: int) -> str:
    """The held-out cells' predictions of the predictor `evaluate_predictor` saved in `saved`, one row
    per test cell and target (index, target, true, predicted; fractions), for scatter plots.

    The saved predictor is reloaded and asked again rather than refit, on the split the evaluation
    used (same pool, sizes and seed)."""
    import numpy as np
    import pandas as pd

    from . import bench
    from .evaluation import pool_indices, split
    from .persist import load_predictor

    table = bench.load()
    _, test = split(pool_indices(table, settings["pool"]), settings["n_train"], n_test, settings["seed"])
    predicted = np.asarray(load_predictor(saved).predict(table.cells[test]), dtype=np.float32)
    frames = [pd.DataFrame({"index": test, "target": target, "true": table.accuracy(target, settings["metric"], fraction=True)[test],
                            "predicted": predicted}) for target in settings["targets"]]
    return pd.concat(frames).to_csv(index=False, float_format="%.7g")  # float32 holds ~7 digits


def limit_threads(threads: int) -> None:
    """Pin BLAS/OpenMP and torch to `threads` threads in this process (torch only if imported: a
    process that has not imported it yet picks the environment variables up when it does)."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def execute_cell(runner: Runner, kind: str, settings: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Run one cell and return its outcome; a plugin's exception becomes a recorded one-line error."""
    limit_threads(threads)
    start = time.perf_counter()
    try:
        result = runner(kind, settings)
        outcome = {"status": "ok", "error": None, "rows": list(result["rows"]),
                   "trace": list(result.get("trace") or []), "files": dict(result.get("files") or {})}
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        origin = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
        outcome = {"status": "error", "error": one_line(exc) + origin, "rows": [], "trace": [], "files": {}}
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    outcome["worker"] = f"{platform.node()}:{os.getpid()}"
    return outcome


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a result row")


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")  # honours the umask
    try:
        with open(tmp, "x") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dump_json(obj: Any, indent: int | None = 1) -> str:
    return json.dumps(obj, indent=indent, sort_keys=True, default=_to_builtin) + "\n"


def pack_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows as {constant: fields equal in every row, columns, data: one list per row}: a 210-step
    search trace repeats its protocol in every row, which would make records ten times larger."""
    if not rows:
        return {"constant": {}, "columns": [], "data": []}
    columns = list(dict.fromkeys(k for row in rows for k in row))
    first = rows[0]
    constant = {k: first[k] for k in columns
                if all(k in row and row[k] == first[k] and type(row[k]) is type(first[k]) for row in rows)}
    varying = [k for k in columns if k not in constant]
    return {"constant": constant, "columns": varying, "data": [[row.get(k) for k in varying] for row in rows]}


def unpack_rows(packed: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**packed["constant"], **dict(zip(packed["columns"], values))} for values in packed["data"]]


def cell_path(out_dir: Path, cell_id: str) -> Path:
    return out_dir / "cells" / f"{cell_id}.json"


def read_cell(path: Path) -> dict[str, Any] | None:
    """A stored cell record, or None when it is missing or unreadable (then the cell runs again)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def finished_ids(out_dir: Path) -> set[str]:
    """Ids of the cells whose stored record says `ok`."""
    done = set()
    for path in (out_dir / "cells").glob("*.json"):
        record = read_cell(path)
        if record is not None and record.get("status") == "ok":
            done.add(path.stem)
    return done


def variant(settings: dict[str, Any]) -> str:
    """The plugin keyword arguments of a cell as one canonical string ('' when there are none), so
    two configurations of the same predictor never share a leaderboard line."""
    extra = {k: settings[k] for k in ("predictor_kwargs", "search_kwargs") if settings.get(k)}
    return json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else ""


def tidy(cell: Cell, rows: Iterable[dict[str, Any]], spec_name: str) -> list[dict[str, Any]]:
    """Rows with the cell's identity added where the runner did not name it."""
    identity = {k: cell.settings.get(k) for k in _IDENTITY[cell.kind]}
    extra = {"kind": cell.kind, "cell_id": cell.id, "spec": spec_name, "variant": variant(cell.settings)}
    return [{**identity, **dict(row), **extra, "version": dict(row).get("version", __version__)} for row in rows]


def store(out_dir: Path, cell: Cell, outcome: dict[str, Any], spec_name: str) -> None:
    """Write one cell's record atomically (its saved files first: the record marks it finished)."""
    for name, text in outcome.get("files", {}).items():
        target = (out_dir / "predictions" / cell.id / name).resolve()
        if (out_dir / "predictions" / cell.id).resolve() not in target.parents:
            raise UserError(f"cell {cell.id} tried to save a file outside its folder: {name}")
        atomic_write_text(target, text)
    record = {
        "id": cell.id, "kind": cell.kind, "settings": cell.settings, "spec": spec_name,
        "status": outcome["status"], "error": outcome["error"], "seconds": outcome["seconds"],
        "worker": outcome.get("worker"), "version": __version__,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": tidy(cell, outcome["rows"], spec_name),
        "trace": pack_rows(tidy(cell, outcome["trace"], spec_name)),
        "files": sorted(outcome.get("files", {})),
    }
    atomic_write_text(cell_path(out_dir, cell.id), dump_json(record, indent=None))


class Progress:
    """A one-line progress bar with ETA on stderr (a new line per update when not a terminal)."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None = None, enabled: bool = True):
        self.total, self.skipped = total, skipped
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = self.failed = 0
        self.start = time.monotonic()
        self.tty = self.stream.isatty()
        self._last_line = 0.0

    @staticmethod
    def _clock(seconds: float) -> str:
        seconds = int(round(seconds))
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    def line(self) -> str:
        todo = self.total - self.skipped
        elapsed = time.monotonic() - self.start
        eta = "?" if not self.done else self._clock(elapsed / self.done * (todo - self.done))
        width = 24
        filled = width if not todo else int(width * self.done / todo)
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.skipped + self.done}/{self.total} cells"
                f" ({self.skipped} already done{failed}) elapsed {self._clock(elapsed)} ETA {eta}")

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        self.show(force=self.done == self.total - self.skipped)

    def show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if force else ""))
        elif force or time.monotonic() - self._last_line >= 10:
            self._last_line = time.monotonic()
            self.stream.write(self.line() + "\n")
        self.stream.flush()


@dataclass
class GridReport:
    total: int
    skipped: int
    ran: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (cell id, label, error)
    seconds: float = 0.0
    manifest: Path | None = None

    @property
    def complete(self) -> bool:
        return self.skipped + self.ran == self.total


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (a SIGKILLed `bench` must not leave workers running its grid)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(threads: int, parent: int) -> None:
    limit_threads(threads)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _run_serial(cells: list[Cell], runner: Runner, threads: int) -> Iterator[tuple[Cell, dict[str, Any]]]:
    for cell in cells:
        yield cell, execute_cell(runner, cell.kind, cell.settings, threads)


def _run_pool(cells: list[Cell], runner: Runner, threads: int, workers: int) -> Iterator[tuple[Cell, dict[str, Any]]]:
    """A spawn-started process pool (no fork: a parent that imported torch must not be copied)."""
    before = {p.pid for p in multiprocessing.active_children()}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads, os.getpid()))
    pending: dict[Future, Cell] = {}
    try:
        for cell in cells:
            pending[pool.submit(execute_cell, runner, cell.kind, cell.settings, threads)] = cell
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                cell = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker process died (killed, out of memory, crashed)
                    outcome = {"status": "error", "error": f"worker failed: {one_line(exc)}", "rows": [], "trace": [],
                               "files": {}, "seconds": 0.0}
                yield cell, outcome
        pool.shutdown(wait=True)
    finally:
        if pending:  # interrupted: stop the cells in flight now instead of waiting for them
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in multiprocessing.active_children():
                if proc.pid not in before:
                    proc.terminate()


def _run_dask(cells: list[Cell], runner: Runner, threads: int, workers: int, address: str | None) -> Iterator[tuple[Cell, dict[str, Any]]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("the dask executor needs dask: pip install 'nasbench-rank[dask]'") from None
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    token = uuid.uuid4().hex[:8]
    futures: dict[Any, Cell] = {}
    try:
        futures = {client.submit(execute_cell, runner, c.kind, c.settings, threads, key=f"nasbench-rank-{c.id}-{token}",
                                 pure=False): c for c in cells}
        for future in as_completed(futures):
            cell = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the task could not run (worker lost, unpicklable runner)
                outcome = {"status": "error", "error": f"worker failed: {one_line(exc)}", "rows": [], "trace": [],
                           "files": {}, "seconds": 0.0}
            yield cell, outcome
    finally:
        client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()


def _manifest(spec: Spec, out_dir: Path, executor: str, workers: int, address: str | None, started: str) -> dict[str, Any]:
    return {
        "spec": str(spec.path), "spec_name": spec.name, "spec_text": spec.text, "version": __version__,
        "started_at": started, "executor": executor, "workers": workers, "address": address,
        "host": platform.node(), "python": platform.python_version(), "out": str(out_dir),
        "cells": len(spec.cells), "status": "running",
    }


def run_grid(spec: Spec, out_dir: str | Path, *, workers: int | None = None, executor: str = "local",
             address: str | None = None, runner: Runner = default_runner, threads: int = 1,
             progress: bool = True, stream: TextIO | None = None) -> GridReport:
    """Run every unfinished cell of `spec` into `out_dir`; return what ran and what failed.

    workers: parallel cells (default: os.cpu_count()); 1 runs in this process (pinning its threads). executor: "local"
    (process pool) or "dask" (`address` of a scheduler, or None for a LocalCluster of `workers`).
    threads: torch/BLAS threads per worker.
    """
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if address and executor != "dask":
        raise UserError("--address needs --executor dask")
    workers = workers or os.cpu_count() or 1
    if workers < 1 or threads < 1:
        raise UserError("workers and threads must be >= 1")
    out_dir = Path(out_dir)
    (out_dir / "cells").mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    manifest_path = out_dir / "runs" / f"{started.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
    manifest = _manifest(spec, out_dir, executor, workers, address, started.isoformat(timespec="seconds"))
    atomic_write_text(manifest_path, dump_json(manifest))

    done = finished_ids(out_dir)
    todo = [c for c in spec.cells if c.id not in done]
    report = GridReport(total=len(spec.cells), skipped=len(spec.cells) - len(todo), manifest=manifest_path)
    bar = Progress(report.total, report.skipped, stream, enabled=progress)
    bar.show()
    clock = time.perf_counter()
    # Pretrained predictors shared by the cells of this grid (see search.CACHE_ENV); spawned workers
    # inherit the variable. A caller's own setting wins.
    cache_was_set = CACHE_ENV in os.environ
    os.environ.setdefault(CACHE_ENV, str(out_dir.resolve() / "cache"))
    if not todo:
        results: Iterator[tuple[Cell, dict[str, Any]]] = iter(())
    elif executor == "dask":
        results = _run_dask(todo, runner, threads, workers, address)
    elif workers == 1 or len(todo) == 1:
        results = _run_serial(todo, runner, threads)
    else:
        results = _run_pool(todo, runner, threads, min(workers, len(todo)))
    status = "interrupted"
    try:
        for cell, outcome in results:
            store(out_dir, cell, outcome, spec.name)
            report.ran += 1
            if outcome["status"] != "ok":
                report.failed.append((cell.id, cell.label(), outcome["error"]))
            bar.update(outcome["status"] == "ok")
        status = "complete"
    finally:
        if hasattr(results, "close"):
            results.close()  # runs the executor's cleanup now, also when interrupted
        if not cache_was_set:
            os.environ.pop(CACHE_ENV, None)
        report.seconds = time.perf_counter() - clock
        manifest.update(status=status, finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        skipped=report.skipped, ran=report.ran, failed=len(report.failed),
                        failures=[{"id": i, "cell": label, "error": err} for i, label, err in report.failed],
                        seconds=round(report.seconds, 3))
        atomic_write_text(manifest_path, dump_json(manifest))
    return report


def load_records(root: str | Path) -> list[dict[str, Any]]:
    """Every cell record under `root` (a run's output directory or a folder of them), sorted by id,
    its trace unpacked into rows; each gets `dir`, the output directory it was found in (where its
    saved files are)."""
    root = Path(root)
    records = []
    for path in sorted(root.rglob("cells/*.json")):
        record = read_cell(path)
        if record is not None:
            records.append({**record, "trace": unpack_rows(record["trace"]), "dir": str(path.parent.parent)})
    return sorted(records, key=lambda r: (r.get("id", ""), r["dir"]))


def exit_code(report: GridReport) -> int:
    """0 when every cell is finished and ok; 1 when any cell failed (the message says how many)."""
    return 1 if report.failed else 0
