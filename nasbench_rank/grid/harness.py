"""Run the cells of a grid spec, in parallel, resumably, one writer per output folder.

The output folder's layout and what counts as finished are in `grid.store`; the executors (process
pool, Dask) in `grid.executors`. A cell record is written to a temporary name and renamed into
place, so it either exists whole or not at all: a run killed at any moment loses only the cells in
flight, and the next run skips every cell whose record is valid, says `ok` and was computed from
the same table. Only the main process writes; workers return their rows, so a distributed worker
needs no shared filesystem.

Cells are independent and seeded by their settings alone, and every worker runs with the same
thread count (1 by default), so which worker ran a cell, and in what order, does not change its rows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, TextIO

from tqdm import tqdm

from .. import __version__, atomic
from ..errors import UserError
from . import search_options, seed_groups
from ..predictors.batched import PROGRESS_ENV
from ..predictors.fit_cache import CACHE_ENV
from .executors import EXECUTORS, Results, Runner, execute_cell, limit_threads, one_line, run_dask, run_pool, run_serial
from .store import (PREDICTIONS_CSV, variant, cell_path, dump_json, finished_ids, load_records, pack_rows, read_cell,
    record_problems, unpack_rows)
from . import store as _store
from ..provenance import cell_plugins, code_versions, provenance, unverified_note
from .revision import check_clean, is_dirty
from .spec import Cell, Spec


__all__ = ["EXECUTORS", "PREDICTIONS_CSV", "GridReport", "Runner", "atomic_write_text", "cell_path", "default_runner",
           "dump_json", "execute_cell", "exit_code", "finished_ids", "limit_threads", "load_records", "one_line",
           "pack_rows", "predictions_csv", "read_cell", "record_problems", "run_grid", "unfinished", "unpack_rows",
           "variant", "check_clean"]

# Settings copied into every row of a cell so each row names its own protocol.
_IDENTITY: dict[str, tuple[str, ...]] = {
    "eval": ("space", "predictor", "loss", "pool", "metric", "source", "n_train", "n_test", "seed"),
    "search": ("space", "predictor", "loss", "search", "dataset", "source", "mode", "budget", "metric", "n_train", "seed"),
}


def atomic_write_text(path: Path, text: str) -> None:
    """Kept for callers of the old helper: `atomic.write_text`."""
    atomic.write_text(path, text)


def default_runner(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Run one cell with the library's evaluation or search entry point. A cell's settings name its
    space only when it is not NAS-Bench-201 (`spec`)."""
    s = settings
    space = s.get("space") or "nb201"
    if kind == seed_groups.KIND:
        return seed_groups.run_group(s)
    if kind == "eval":
        from ..quality.protocol import evaluate_predictor

        with tempfile.TemporaryDirectory(prefix="nasbench-rank-") as tmp:
            rows = evaluate_predictor(
                s["predictor"], loss=s["loss"], source=s["source"], targets=tuple(s["targets"]), pool=s["pool"],
                n_train=s["n_train"], n_test=s["n_test"], metric=s["metric"], seed=s["seed"], space=space,
                predictor_kwargs=s["predictor_kwargs"] or None, save_dir=tmp if s["save_predictions"] else None,
                **protocol_kwargs(s))
            files = {PREDICTIONS_CSV: predictions_csv(tmp, s, int(rows[0]["n_test"]))} if s["save_predictions"] else {}
        return {"rows": rows, "files": files}
    if kind == "search":
        from ..loop.runs import run_search

        optional = {k: s[k] for k in ("source", "mode", "n_train", "loss") if s[k] is not None}
        if space != "nb201":
            optional["space"] = space
        row, trace = run_search(
            s["predictor"], s["search"], dataset=s["dataset"], budget=s["budget"], metric=s["metric"], seed=s["seed"],
            predictor_kwargs=s["predictor_kwargs"] or None, search_kwargs=s["search_kwargs"] or None,
            isolation="in-process" if s.get("in_process") else "process", **optional,
            **search_options.run_kwargs(s))
        return {"rows": [row], "trace": trace}
    raise UserError(f"unknown cell kind {kind!r}")


def protocol_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """The named protocol and score metric of an eval cell, where it names them (`spec`), as keyword
    arguments of `evaluate_predictor`."""
    return {k: settings[k] for k in ("protocol", "score_metric") if settings.get(k)}


def predictions_csv(saved: str | Path, settings: dict[str, Any], n_test: int) -> str:
    """The held-out cells' predictions of the predictor `evaluate_predictor` saved in `saved`, one row
    per test cell and target (index, target, true, predicted; fractions), for scatter plots.

    The saved predictor is reloaded and asked again rather than refit, on the split the evaluation
    used (same pool, sizes and seed); `true` is the metric the cell is scored on."""
    import numpy as np
    import pandas as pd

    from ..tables import nb201 as bench
    from ..quality.protocol import ALL, pool_indices, split
    from ..predictors.persist import load_predictor

    if settings.get("space"):
        return _space_predictions_csv(saved, settings, n_test)
    table = bench.load()
    scored = ALL if settings["n_test"] == ALL else n_test
    _, test = split(pool_indices(table, settings["pool"]), settings["n_train"], scored, settings["seed"])
    predicted = np.asarray(load_predictor(saved).predict(table.cells[test]), dtype=np.float32)
    metric = settings.get("score_metric") or settings["metric"]
    frames = [pd.DataFrame({"index": test, "target": target, "true": table.accuracy(target, metric, fraction=True)[test],
                            "predicted": predicted}) for target in settings["targets"]]
    return pd.concat(frames).to_csv(index=False, float_format="%.7g")  # float32 holds ~7 digits


def _space_predictions_csv(saved: str | Path, settings: dict[str, Any], n_test: int) -> str:
    """`predictions_csv` on a space other than NB201: `index` is the ordinal of the target's space,
    `true` the metric's value (its own units) and `predicted` the predictor's utility score
    (higher is better; for a metric where lower is better it estimates minus the value)."""
    import numpy as np
    import pandas as pd

    from ..quality.protocol import ALL, load_benchmark, resolve_protocol, space_pool, split, target_test
    from ..predictors.persist import load_predictor

    bm = load_benchmark(settings["space"])
    protocol = resolve_protocol(settings["predictor"], loss=settings["loss"], source=settings["source"],
                                targets=tuple(settings["targets"]), pool=settings["pool"], n_train=settings["n_train"],
                                n_test=settings["n_test"], metric=settings["metric"], seed=settings["seed"],
                                predictor_kwargs=settings["predictor_kwargs"] or None, space=bm,
                                **protocol_kwargs(settings))
    train, test = split(space_pool(bm.space_of(protocol.source), protocol.pool), protocol.n_train,
                        ALL if protocol.test_all else protocol.n_test, protocol.seed)
    model = load_predictor(saved)
    frames = []
    for target in protocol.targets:
        tsp, scored = target_test(bm, protocol, target, train, test)
        predicted = np.asarray(model.predict(tsp.elements(scored)), dtype=np.float32)
        frames.append(pd.DataFrame({"index": scored, "target": target,
                                    "true": bm.values(target, protocol.score_metric)[scored], "predicted": predicted}))
    return pd.concat(frames).to_csv(index=False, float_format="%.7g")




def tidy(cell: Cell, rows: Iterable[dict[str, Any]], spec_name: str, prov: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows with the cell's identity and provenance added where the runner did not name them."""
    identity = {k: cell.settings.get(k) for k in _IDENTITY[cell.kind]}
    extra = {"kind": cell.kind, "cell_id": cell.id, "spec": spec_name, "variant": variant(cell.settings)}
    out = [{**identity, **prov, **dict(row), **extra, "version": dict(row).get("version", __version__)} for row in rows]
    for row in out:  # whether the code that made the row differed from its commit (see grid.revision)
        row["dirty"] = is_dirty(row.get("source_revision", ""))
    return out


def make_record(cell: Cell, outcome: dict[str, Any], spec_name: str, prov: dict[str, Any]) -> dict[str, Any]:
    plugins = cell_plugins(cell.settings)  # the distributions of the plugins this cell used
    in_rows = {**prov, "plugins": json.dumps(plugins, sort_keys=True)}  # a row holds text, not a table
    return {
        "id": cell.id, "kind": cell.kind, "settings": cell.settings, "spec": spec_name,
        "status": outcome["status"], "error": outcome["error"], "seconds": outcome["seconds"],
        "worker": outcome.get("worker"), "version": __version__, "provenance": {**prov, "plugins": plugins},
        **({"retried": outcome["retried"]} if outcome.get("retried") else {}),
        "finished_at": _store.now(),
        "rows": tidy(cell, outcome["rows"], spec_name, in_rows),
        "trace": pack_rows(tidy(cell, outcome["trace"], spec_name, in_rows)),
        "files": sorted(outcome.get("files", {})),
    }


def store(out_dir: Path, cell: Cell, outcome: dict[str, Any], spec_name: str, prov: dict[str, Any] | None = None) -> None:
    """Write one cell's record atomically (its saved files first: the record marks it finished)."""
    prov = prov if prov is not None else provenance(None)
    _store.write_record(Path(out_dir), cell.id, make_record(cell, outcome, spec_name, prov), outcome.get("files", {}))


@dataclass
class GridReport:
    total: int
    skipped: int
    ran: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (cell id, label, error)
    seconds: float = 0.0
    manifest: Path | None = None
    notes: list[str] = field(default_factory=list)  # what the run said about the folder before it started

    @property
    def complete(self) -> bool:
        return self.skipped + self.ran == self.total


def _manifest(spec: Spec, out_dir: Path, executor: str, workers: int, address: str | None, started: str,
              prov: dict[str, Any]) -> dict[str, Any]:
    import platform

    return {
        "spec": str(spec.path), "spec_name": spec.name, "spec_text": spec.text, "version": __version__,
        "provenance": prov, "started_at": started, "executor": executor, "workers": workers, "address": address,
        "host": platform.node(), "pid": os.getpid(), "python": platform.python_version(), "out": str(out_dir),
        "cells": len(spec.cells), "status": "running",
    }


def check_output_folder(out_dir: str | Path) -> Path:
    """The output folder, created; a path that is a file, or a folder that cannot be written, is
    refused in one line before any work."""
    out_dir = Path(out_dir)
    for parent in (out_dir, *out_dir.parents):
        if parent.exists() and not parent.is_dir():
            raise UserError(f"output path {out_dir}: {parent} is not a directory")
        if parent.exists():
            break
    if out_dir.is_dir():
        _store.check_tree(out_dir)  # no link out of the folder, no directory where a file goes
    try:
        (out_dir / "cells").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK) or not os.access(out_dir / "cells", os.W_OK | os.X_OK):
        raise UserError(f"output folder {out_dir} is not writable")
    return out_dir


def other_plugins(found: _store.Scan, spec: Spec) -> list[str]:
    """What differs, for each finished cell of `spec` made by other plugin versions than those
    installed now ("kind name: then -> now")."""
    out = []
    for cell in spec.cells:
        then = found.plugins.get(cell.id)
        if cell.id not in found.finished or then is None:
            continue
        now = cell_plugins(cell.settings)
        changed = [f"{k}: {then.get(k, '?')} -> {v}" for k, v in sorted(now.items()) if then.get(k) != v]
        if changed:
            out.append("; ".join(changed))
    return out


def _notes(found: _store.Scan, stale_runs: int, stale_cells: int, table: Any) -> list[str]:
    notes = []
    if found.other_plugins:
        notes.append(f"{len(found.other_plugins)} finished cells were made by other plugin versions "
                     f"({found.other_plugins[0]}) and are kept (their records name them); delete them to rerun")
    if found.invalid:
        name, why = found.invalid[0]
        notes.append(f"{len(found.invalid)} cell records fail validation and will be rerun (first: {name}: {why})")
    if found.other_table:
        notes.append(f"{len(found.other_table)} finished cells were computed from another table, or name none "
                     f"(not sha256 {table.sha256[:12]}...), and will be rerun")
    if found.other_code:
        notes.append(f"{len(found.other_code)} finished cells were computed by another version of the code and are "
                     f"kept (their records name it)")
    if stale_runs:
        notes.append(f"{stale_runs} earlier runs in this folder were killed; their manifests now say so")
    if stale_cells:
        notes.append(f"{stale_cells} cell records in this folder are not in this spec (from an earlier version); "
                     "leaderboards of this folder count them")
    return notes


def unfinished(cells: Iterable[Cell], found: _store.Scan) -> list[Cell]:
    """The cells a run still has to do: no valid `ok` record of this table, or a record without the
    predictions file its settings ask for. `bench --dry-run` counts by the same rule."""
    return [c for c in cells if c.id not in found.finished
            or (c.settings.get("save_predictions") and PREDICTIONS_CSV not in found.files.get(c.id, []))]


def run_grid(spec: Spec, out_dir: str | Path, *, workers: int | None = None, executor: str = "local",
             address: str | None = None, runner: Runner = default_runner, threads: int = 1,
             progress: bool = True, stream: TextIO | None = None, wait: bool = False, table: Any = None,
             notes: Iterable[str] = ()) -> GridReport:
    """Run every unfinished cell of `spec` into `out_dir`; return what ran and what failed.

    workers: parallel cells (default: os.cpu_count()); 1 runs in this process (pinning its threads). executor: "local"
    (process pool) or "dask" (`address` of a scheduler, or None for a LocalCluster of `workers`).
    threads: torch/BLAS threads per worker. wait: when another run holds the folder, wait for it
    instead of refusing. table: the benchmark table the cells read (default: `bench.load()`); its
    checksum goes into every record, and records of another table are not reused. notes: lines the
    caller wants printed with the run's own notes once the folder is checked and locked.
    """
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if address and executor != "dask":
        raise UserError("--address needs --executor dask")
    if workers is not None and workers < 1:
        raise UserError(f"workers must be >= 1, got {workers} (leave it out for one per CPU core)")
    if threads < 1:
        raise UserError(f"threads must be >= 1, got {threads}")
    workers = workers or os.cpu_count() or 1
    stream = stream or sys.stderr
    if table is None:
        from ..tables import nb201 as bench

        table = bench.load()
    prov = provenance(table)
    out_dir = check_output_folder(out_dir)
    with _store.FolderLock(out_dir, wait=wait):
        stale_runs = _store.mark_stale_runs(out_dir)
        started = datetime.now(timezone.utc)
        manifest_path = out_dir / "runs" / f"{started.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
        manifest = _manifest(spec, out_dir, executor, workers, address, started.isoformat(timespec="seconds"), prov)
        atomic.write_text(manifest_path, dump_json(manifest))
        ids = {c.id for c in spec.cells}
        _store.write_spec_cells(out_dir, spec.name, ids)

        found = _store.scan(out_dir, table.sha256, dict(code_versions()))
        found.other_plugins = other_plugins(found, spec)
        stale_cells = len({p.stem for p in (out_dir / "cells").glob("*.json")} - ids)
        todo = unfinished(spec.cells, found)
        # the seeds of a configuration whose predictor fits several at once run as one job (seed_groups)
        units = seed_groups.group_seeds(todo) if runner is default_runner else list(todo)
        report = GridReport(total=len(spec.cells), skipped=len(spec.cells) - len(todo), manifest=manifest_path,
                            notes=_notes(found, stale_runs, stale_cells, table))
        if not table.verified:
            report.notes.append(unverified_note(table).removeprefix("note: "))
        report.notes += [n for n in notes if n]
        for note in report.notes:
            print(f"note: {note}", file=stream)
        bar = tqdm(total=report.total, initial=report.skipped, unit="cell", file=stream, disable=not progress,
                   dynamic_ncols=True, mininterval=1.0, desc=spec.name)
        clock = time.perf_counter()
        # Pretrained fits shared by the cells of this grid (see fit_cache); spawned workers inherit
        # the variable. A caller's own setting wins.
        cache_was_set = CACHE_ENV in os.environ
        os.environ.setdefault(CACHE_ENV, str(out_dir.resolve() / "cache"))
        # a fit's own progress bar (predictors.batched) stays off: the grid's bar of cells is the progress
        progress_was = os.environ.get(PROGRESS_ENV)
        os.environ[PROGRESS_ENV] = "0"
        if not units:
            results: Results = iter(())
        elif executor == "dask":
            results = run_dask(units, runner, threads, workers, address)
        elif workers == 1 or len(units) == 1:
            results = run_serial(units, runner, threads)
        else:
            results = run_pool(units, runner, threads, min(workers, len(units)))
        status = "interrupted"
        try:
            for unit, unit_outcome in results:
                for cell, outcome in seed_groups.split_outcome(unit, unit_outcome):
                    store(out_dir, cell, outcome, spec.name, prov)
                    report.ran += 1
                    if outcome["status"] != "ok":
                        report.failed.append((cell.id, cell.label(), outcome["error"]))
                        bar.set_postfix(failed=len(report.failed), refresh=False)
                    bar.update(1)
            status = "complete"
        finally:
            if hasattr(results, "close"):
                results.close()  # runs the executor's cleanup now, also when interrupted
            bar.close()
            if not cache_was_set:
                os.environ.pop(CACHE_ENV, None)
            if progress_was is None:
                os.environ.pop(PROGRESS_ENV, None)
            else:
                os.environ[PROGRESS_ENV] = progress_was
            report.seconds = time.perf_counter() - clock
            manifest.update(status=status, finished_at=_store.now(),
                            skipped=report.skipped, ran=report.ran, failed=len(report.failed),
                            failures=[{"id": i, "cell": label, "error": err} for i, label, err in report.failed],
                            seconds=round(report.seconds, 3))
            atomic.write_text(manifest_path, dump_json(manifest))
    return report


def exit_code(report: GridReport) -> int:
    """0 when every cell is finished and ok; 1 when any cell failed (the message says how many)."""
    return 1 if report.failed else 0
