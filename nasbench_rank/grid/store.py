"""The output folder of a grid: one atomic JSON record per cell, one manifest per run, one lock.

    cells/<cell id>.json        one per cell that ran: settings, status, tidy rows, search trace, provenance
    predictions/<cell id>/...   files an evaluation cell saved (save_predictions = true)
    runs/<start>-<pid>-<tag>.json  one manifest per `bench` invocation (status running / complete /
                                interrupted / killed)
    spec_cells.json             the cell ids of the spec that last ran here (stale records are the others)
    cache/                      pretrained fits shared by the grid's workers (JSON + npz, see fit_cache)
    bench.lock, bench.lock.json the writer's lock and who holds it (pid, host, start)

A record is read back only as JSON and validated before it counts: a record that fails validation,
that says `error`, or that was computed from another table (its `table_sha256`) is not finished and
its cell runs again.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import filelock

from .. import atomic
from ..errors import UserError

PREDICTIONS_CSV = "predictions.csv"
LOCK_NAME = "bench.lock"
HOLDER_NAME = "bench.lock.json"
SPEC_CELLS = "spec_cells.json"
STATUSES = ("ok", "error")
KINDS = ("eval", "search")


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


def dump_json(obj: Any, indent: int | None = 1) -> str:
    return json.dumps(obj, indent=indent, sort_keys=True, default=_to_builtin) + "\n"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def variant(settings: dict[str, Any]) -> str:
    """The plugin keyword arguments of a cell as one canonical string ('' when there are none), so
    two configurations of the same predictor never share a leaderboard line."""
    extra = {k: settings[k] for k in ("predictor_kwargs", "search_kwargs") if settings.get(k)}
    return json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else ""


def cell_path(out_dir: Path, cell_id: str) -> Path:
    return Path(out_dir) / "cells" / f"{cell_id}.json"


# ---- reading records ---------------------------------------------------------------------------

def validate(record: Any, stem: str | None = None) -> str | None:
    """Why `record` is not a usable cell record (None when it is)."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for key, kind in (("id", str), ("kind", str), ("status", str), ("settings", dict), ("rows", list),
                      ("trace", dict)):
        if not isinstance(record.get(key), kind):
            return f"{key!r} missing or not a {kind.__name__}"
    if stem is not None and record["id"] != stem:
        return f"id {record['id']!r} differs from its file name"
    if record["kind"] not in KINDS or record["status"] not in STATUSES:
        return f"kind {record['kind']!r} / status {record['status']!r} unknown"
    if not all(isinstance(row, dict) for row in record["rows"]):
        return "a row is not a JSON object"
    trace = record["trace"]
    if not (isinstance(trace.get("constant"), dict) and isinstance(trace.get("columns"), list)
            and isinstance(trace.get("data"), list)
            and all(isinstance(r, list) and len(r) == len(trace["columns"]) for r in trace["data"])):
        return "trace is not a packed table"
    if record["status"] == "ok" and not record["rows"]:
        return "status ok without rows"
    if not isinstance(record.get("files", []), list):
        return "'files' is not a list"
    return None


def read_cell(path: Path) -> dict[str, Any] | None:
    """A stored cell record as JSON, or None when it is missing, unreadable or fails validation."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if validate(record, Path(path).stem) is None else None


@dataclass
class Scan:
    """What an output folder holds for resuming: the finished cell ids and why others are not."""

    finished: set[str] = field(default_factory=set)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    other_table: list[str] = field(default_factory=list)  # ok records computed from another table
    other_code: list[str] = field(default_factory=list)  # ok records of another package version / revision
    files: dict[str, list[str]] = field(default_factory=dict)  # finished id -> the files it saved


def _record_table(record: dict[str, Any]) -> str:
    return str((record.get("provenance") or {}).get("table_sha256", ""))


def scan(out_dir: Path, table_sha256: str | None = None, code: dict[str, str] | None = None) -> Scan:
    """Read every record of `out_dir`; ok records count as finished only when they were computed
    from the table with checksum `table_sha256` (any table when None)."""
    found = Scan()
    for path in sorted((Path(out_dir) / "cells").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found.invalid.append((path.name, f"unreadable: {type(exc).__name__}"))
            continue
        problem = validate(record, path.stem)
        if problem:
            found.invalid.append((path.name, problem))
            continue
        if record["status"] != "ok":
            continue
        if table_sha256 is not None and _record_table(record) != table_sha256:
            found.other_table.append(path.stem)
            continue
        if code is not None:
            theirs = record.get("provenance") or {}
            if any(theirs.get(k) != v for k, v in code.items()):
                found.other_code.append(path.stem)
        found.finished.add(path.stem)
        found.files[path.stem] = list(record.get("files", []))
    return found


def finished_ids(out_dir: Path, table_sha256: str | None = None) -> set[str]:
    """Ids of the cells whose stored record is valid and says `ok` (from that table, when given)."""
    return scan(out_dir, table_sha256).finished


def spec_cell_ids(root: Path) -> set[str] | None:
    """The cell ids of the spec that last ran into output folder `root` (None when unknown)."""
    try:
        ids = json.loads((Path(root) / SPEC_CELLS).read_text(encoding="utf-8")).get("ids")
    except (OSError, ValueError, AttributeError):
        return None
    return set(ids) if isinstance(ids, list) else None


def asked_from_spec(data: dict[str, Any], source: str) -> tuple[dict[str, tuple[str, dict]], str | None]:
    """The cells a stored spec asks for ({id: (kind, settings)}) and None, or {} and why it no longer
    expands. Readers of a results folder learn what a grid asked through here, not through the spec."""
    from .spec import expand

    cells, problems = expand(data, source)
    if problems:
        return {}, str(problems[0])
    return {c.id: (c.kind, c.settings) for c in cells}, None


def load_records(root: str | Path, current_only: bool = False) -> list[dict[str, Any]]:
    """Every valid cell record under `root` (a run's output directory or a folder of them), sorted by
    id, its trace unpacked into rows; each gets `dir`, the output directory it was found in.

    current_only: leave out records whose cell is not in the spec that last ran in their folder
    (cells of an earlier version of the spec)."""
    root = Path(root)
    records = []
    current: dict[Path, set[str] | None] = {}
    for path in sorted(root.rglob("cells/*.json")):
        record = read_cell(path)
        if record is None:
            continue
        folder = path.parent.parent
        if current_only:
            if folder not in current:
                current[folder] = spec_cell_ids(folder)
            if current[folder] is not None and record["id"] not in current[folder]:
                continue
        records.append({**record, "trace": unpack_rows(record["trace"]), "dir": str(folder)})
    return sorted(records, key=lambda r: (r.get("id", ""), r["dir"]))


def record_problems(root: str | Path) -> tuple[list[tuple[str, str]], int]:
    """(records under `root` that fail validation as (path, reason), records not in their folder's
    current spec): what a leaderboard should report beside what it counts."""
    root = Path(root)
    invalid, stale = [], 0
    current: dict[Path, set[str] | None] = {}
    for path in sorted(root.rglob("cells/*.json")):
        try:
            problem = validate(json.loads(path.read_text(encoding="utf-8")), path.stem)
        except (OSError, ValueError) as exc:
            problem = f"unreadable: {type(exc).__name__}"
        if problem:
            invalid.append((str(path), problem))
            continue
        folder = path.parent.parent
        if folder not in current:
            current[folder] = spec_cell_ids(folder)
        stale += current[folder] is not None and path.stem not in current[folder]
    return invalid, stale


# ---- writing -----------------------------------------------------------------------------------

def write_record(out_dir: Path, cell_id: str, record: dict[str, Any], files: dict[str, str]) -> None:
    """The cell's saved files, then its record (the record marks it finished), each atomically."""
    folder = (Path(out_dir) / "predictions" / cell_id).resolve()
    for name, text in files.items():
        target = (folder / name).resolve()
        if folder not in target.parents:
            raise UserError(f"cell {cell_id} tried to save a file outside its folder: {name}")
        atomic.write_text(target, text)
    atomic.write_text(cell_path(out_dir, cell_id), dump_json(record, indent=None))


def write_spec_cells(out_dir: Path, spec_name: str, ids: Iterable[str]) -> None:
    atomic.write_text(Path(out_dir) / SPEC_CELLS, dump_json({"spec": spec_name, "ids": sorted(ids)}, indent=None))


# ---- the writer's lock and the run manifests ---------------------------------------------------

class FolderLock:
    """One writer per output folder: an OS file lock (released by the kernel when its holder dies,
    also by SIGKILL) and a note of who holds it. `wait`: block until it is free instead of refusing."""

    def __init__(self, out_dir: Path, wait: bool = False):
        self.out_dir = Path(out_dir)
        self.wait = wait
        self._lock = filelock.FileLock(str(self.out_dir / LOCK_NAME), timeout=-1 if wait else 0)

    def holder(self) -> str:
        try:
            info = json.loads((self.out_dir / HOLDER_NAME).read_text(encoding="utf-8"))
            return f"pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def __enter__(self) -> "FolderLock":
        try:
            if self.wait:
                try:
                    self._lock.acquire(timeout=0)
                except filelock.Timeout:
                    print(f"waiting for {self.out_dir}: in use by {self.holder()}", file=sys.stderr)
                    self._lock.acquire()
            else:
                self._lock.acquire()
        except filelock.Timeout:
            raise UserError(f"{self.out_dir} is in use by another run ({self.holder()}); "
                            "wait for it (--wait) or give another --out") from None
        atomic.write_text(self.out_dir / HOLDER_NAME, dump_json(
            {"pid": os.getpid(), "host": platform.node(), "since": now(), "argv": sys.argv}))
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            (self.out_dir / HOLDER_NAME).unlink(missing_ok=True)
        finally:
            self._lock.release()


def mark_stale_runs(out_dir: Path) -> int:
    """Mark the manifests still saying `running` as `killed` (call while holding the folder's lock:
    no run is then alive in this folder, so those runs ended without recording their end)."""
    marked = 0
    for path in sorted((Path(out_dir) / "runs").glob("*.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("status") == "running":
            manifest.update(status="killed", marked_at=now(),
                            note="ended without recording its end (killed, or the machine stopped)")
            atomic.write_text(path, dump_json(manifest))
            marked += 1
    return marked
