"""Executors: run cells and yield (cell, outcome) as each finishes.

Workers only compute and return outcomes; the process that owns the output folder writes them. A
worker that dies (killed, out of memory, crashed) costs only the cell it was running: the process
pool is rebuilt, the cells that were in flight are run again one at a time so that the one that
killed its worker is known, and that cell is recorded as failed if its worker dies again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import UserError
from .spec import Cell

#: runner(kind, settings) -> {"rows": [...], "trace": [...], "files": {name: text}} ("rows" required).
Runner = Callable[[str, dict[str, Any]], dict[str, Any]]
Results = Iterator[tuple[Cell, dict[str, Any]]]
EXECUTORS: tuple[str, ...] = ("local", "dask")
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


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


def failed(error: str) -> dict[str, Any]:
    return {"status": "error", "error": error, "rows": [], "trace": [], "files": {}, "seconds": 0.0}


def execute_cell(runner: Runner, kind: str, settings: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Run one cell and return its outcome; a plugin's exception becomes a recorded one-line error."""
    limit_threads(threads)
    start = time.perf_counter()
    try:
        result = runner(kind, settings)
        outcome = {"status": "ok", "error": None, "rows": list(result["rows"]),
                   "trace": list(result.get("trace") or []), "files": dict(result.get("files") or {})}
        if "parts" in result:  # a group of cells (seed_groups): one part per cell
            outcome["parts"] = list(result["parts"])
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        origin = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
        outcome = failed(one_line(exc) + origin)
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    outcome["worker"] = f"{platform.node()}:{os.getpid()}"
    return outcome


def run_serial(cells: list[Cell], runner: Runner, threads: int) -> Results:
    for cell in cells:
        yield cell, execute_cell(runner, cell.kind, cell.settings, threads)


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (a SIGKILLed `bench` must not leave workers running its grid)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(threads: int, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    limit_threads(threads)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _new_pool(workers: int, threads: int) -> ProcessPoolExecutor:
    """A spawn-started process pool (no fork: a parent that imported torch must not be copied)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads, os.getpid()))


def _stop(pool: ProcessPoolExecutor, before: set[int]) -> None:
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in multiprocessing.active_children():
        if proc.pid not in before:
            proc.terminate()


def run_pool(cells: list[Cell], runner: Runner, threads: int, workers: int) -> Results:
    """Cells on `workers` processes, at most `workers` in flight (so every cell in flight is running).

    When a worker dies, every cell in flight comes back with BrokenProcessPool: those cells become
    suspects, the pool is rebuilt, and the suspects run one at a time; a suspect whose worker dies
    alone is recorded as failed, the others finish normally, then the grid goes on in parallel."""
    before = {p.pid for p in multiprocessing.active_children()}
    todo: deque[Cell] = deque(cells)
    suspects: deque[Cell] = deque()
    retried: set[str] = set()
    pool = _new_pool(workers, threads)
    pending: dict[Future, Cell] = {}
    try:
        while todo or suspects or pending:
            source, limit = (suspects, 1) if suspects else (todo, workers)
            while source and len(pending) < limit:
                cell = source.popleft()
                pending[pool.submit(execute_cell, runner, cell.kind, cell.settings, threads)] = cell
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                cell = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    if limit == 1:  # it ran alone: its own worker died
                        yield cell, failed("worker died while running this cell (twice: killed, out of memory or crashed)")
                    else:
                        suspects.append(cell)
                        retried.add(cell.id)
                    continue
                except Exception as exc:  # the outcome could not come back (e.g. not picklable)
                    outcome = failed(f"worker failed: {one_line(exc)}")
                if cell.id in retried:
                    outcome["retried"] = "a worker died while this cell was in flight; it ran again"
                yield cell, outcome
            if broken:
                suspects.extend(pending.values())  # in flight beside the dead worker: run again
                retried.update(c.id for c in pending.values())
                pending.clear()
                _stop(pool, before)
                pool = _new_pool(workers, threads)
        pool.shutdown(wait=True)
    finally:
        if pending:  # interrupted: stop the cells in flight now instead of waiting for them
            _stop(pool, before)


def run_dask(cells: list[Cell], runner: Runner, threads: int, workers: int, address: str | None) -> Results:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("the dask executor needs dask: pip install 'nasbench-rank[dask]'") from None
    cluster = None
    if address:
        client = Client(address)
    else:
        # Its processes start with Ctrl-C ignored (inherited): the parent stops them, quietly.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.CRITICAL)  # a worker cut off by Ctrl-C logs errors
        finally:
            signal.signal(signal.SIGINT, previous)
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
                outcome = failed(f"worker failed: {one_line(exc)}")
            yield cell, outcome
    finally:
        _close_dask(client, cluster, list(futures))


def _close_dask(client: Any, cluster: Any, futures: list[Any]) -> None:
    """Cancel and close quietly: an interrupted run says one line, not the cluster's shutdown logs."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        for step in (lambda: client.cancel(futures), client.close, (cluster.close if cluster is not None else None)):
            if step is None:
                continue
            try:
                step()
            except (Exception, KeyboardInterrupt):
                pass
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
