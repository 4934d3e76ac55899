"""The output folder of a grid: one atomic JSON record per cell, one manifest per run, one lock.

    cells/<cell id>.json        one per cell that ran: settings, status, tidy rows, search trace, provenance
    predictions/<cell id>/...   files an evaluation cell saved (save_predictions = true)
    runs/<start>-<pid>-<tag>.json  one manifest per `bench` invocation (status running / complete /
                                interrupted / killed)
    spec_cells.json             the cell ids of the spec that last ran here (stale records are the others)
    cache/                      pretrained fits shared by the grid's workers (safetensors, see fit_cache)
    bench.lock, bench.lock.json the writer's lock and who holds it (pid, host, start)

A record is read back only as JSON and validated before it counts: a record that fails validation,
that says `error`, or that was computed from another table (its `table_sha256`) is not finished and
its cell runs again. Validation is a schema (`CellRecord`) and a binding: the record's id must be the
id its own settings hash to (`grid.spec.cell_id`) and its file name, so a record copied under
another cell's name is invalid. Only regular files are read (a FIFO or a device is never opened for
reading blocks), at most `MAX_RECORD_BYTES` and `MAX_DEPTH` levels of nesting; what fails any of
this is reported and rerun, never fatal.

Nothing is written through a symbolic link: a link anywhere in the tree (`cells`, `predictions`,
`predictions/<id>`, `runs`, `cache`) is refused before any work (`check_tree`), and every write
checks that its resolved target stays inside the folder.
"""

from __future__ import annotations

import json
import os
import platform
import stat
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal

import filelock
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .. import atomic
from ..errors import UserError

PREDICTIONS_CSV = "predictions.csv"
LOCK_NAME = "bench.lock"
HOLDER_NAME = "bench.lock.json"
SPEC_CELLS = "spec_cells.json"
STATUSES = ("ok", "error")
KINDS = ("eval", "search")
#: Folders of the tree that are written into; none of them may be a symbolic link.
TREE = ("cells", "predictions", "runs", "cache")
#: The largest record (or manifest) read; a 210-step search record is about 100 kB.
MAX_RECORD_BYTES = 64 << 20
#: The deepest nesting of lists and objects read; a record is 5 levels deep.
MAX_DEPTH = 32


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

class Unreadable(Exception):
    """A file of the results folder that is not read: why, in a few words."""


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json(path: str | os.PathLike, max_bytes: int | None = None) -> Any:
    """The JSON in `path`, read only when it is a regular file (not a link, FIFO, device or folder)
    of at most `max_bytes` (default `MAX_RECORD_BYTES`) nested at most `MAX_DEPTH` deep; raises
    `Unreadable` saying why not. The file is opened without blocking and checked again once open,
    so a FIFO swapped in between is not read either."""
    limit = MAX_RECORD_BYTES if max_bytes is None else max_bytes
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISLNK(info.st_mode):
        raise Unreadable("is a symbolic link, not a regular file")
    if stat.S_ISDIR(info.st_mode):
        raise Unreadable("is a directory, not a regular file")
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable("is not a regular file (a FIFO, socket or device)")
    if info.st_size > limit:
        raise Unreadable(f"is larger than {limit} bytes")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable("is not a regular file (a FIFO, socket or device)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    if size > limit:
        raise Unreadable(f"is larger than {limit} bytes")
    try:
        value = json.loads(b"".join(chunks).decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text") from None
    except RecursionError:
        raise Unreadable(f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise Unreadable("is not valid JSON, or empty") from None
    if _depth(value) > MAX_DEPTH:
        raise Unreadable(f"is nested deeper than {MAX_DEPTH} levels")
    return value


def is_regular_file(path: str | os.PathLike) -> bool:
    """True for a regular file that is not a symbolic link (what readers of a results folder open)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class PackedTable(BaseModel):
    """A search trace as `pack_rows` writes it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    constant: dict[str, Any]
    columns: list[str]
    data: list[list[Any]]

    @model_validator(mode="after")
    def _rows_fit(self) -> "PackedTable":
        if any(len(row) != len(self.columns) for row in self.data):
            raise ValueError("a row's length differs from its columns")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("columns repeat")
        return self


class CellRecord(BaseModel):
    """The schema of a cell record (fields the harness adds beyond these are kept and not checked)."""

    model_config = ConfigDict(extra="allow", strict=True)
    id: str
    kind: Literal["eval", "search"]
    status: Literal["ok", "error"]
    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    trace: PackedTable
    files: list[str] = []
    provenance: dict[str, Any] | None = None
    spec: str | None = None

    @model_validator(mode="after")
    def _ok_has_rows(self) -> "CellRecord":
        if self.status == "ok" and not self.rows:
            raise ValueError("status ok without rows")
        return self


class Manifest(BaseModel):
    """The fields of a run manifest that readers use (others are kept and not checked)."""

    model_config = ConfigDict(extra="allow", strict=True)
    status: str | None = None
    spec_text: str | None = None
    spec_name: str | None = None
    started_at: str | None = None


class SpecCells(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    ids: list[str]


def schema_problem(model: type[BaseModel], value: Any) -> str | None:
    """The first problem of `value` against `model`, on one line (None when it fits)."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the record"
        return f"{where}: {first.get('msg', 'invalid')}"
    return None


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """A run manifest as a dict when it is a readable file of the right shape, else None."""
    try:
        manifest = read_json(path)
    except Unreadable:
        return None
    return manifest if schema_problem(Manifest, manifest) is None else None


def validate(record: Any, stem: str | None = None) -> str | None:
    """Why `record` is not a usable cell record (None when it is): its schema, then its binding to
    its cell (the id its settings hash to, and its file name)."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    problem = schema_problem(CellRecord, record)
    if problem:
        return problem
    if stem is not None and record["id"] != stem:
        return f"id {record['id']!r} differs from its file name"
    from .spec import cell_id, legacy_cell_id

    try:
        expected = cell_id(record["kind"], record["settings"])
        legacy = legacy_cell_id(record["kind"], record["settings"])
    except (TypeError, ValueError):
        return "its settings cannot be hashed to a cell id"
    if record["id"] not in (expected, legacy):
        return f"id {record['id']!r} does not match its settings (they hash to {expected})"
    return None


def read_record(path: str | os.PathLike) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) for a valid record file, else (None, why it is not one)."""
    try:
        record = read_json(path)
    except Unreadable as exc:
        return None, str(exc)
    problem = validate(record, Path(path).stem)
    return (record, None) if problem is None else (None, problem)


def read_cell(path: Path) -> dict[str, Any] | None:
    """A stored cell record as JSON, or None when it is missing, unreadable or fails validation."""
    return read_record(path)[0]


@dataclass
class Scan:
    """What an output folder holds for resuming: the finished cell ids and why others are not."""

    finished: set[str] = field(default_factory=set)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    other_table: list[str] = field(default_factory=list)  # ok records computed from another table
    other_code: list[str] = field(default_factory=list)  # ok records of another package version / revision
    files: dict[str, list[str]] = field(default_factory=dict)  # finished id -> the files it saved
    plugins: dict[str, dict[str, str]] = field(default_factory=dict)  # finished id -> its plugins' distributions
    other_plugins: list[str] = field(default_factory=list)  # set by the harness: what changed, per cell


def _record_table(record: dict[str, Any]) -> str:
    return str((record.get("provenance") or {}).get("table_sha256", ""))


def scan(out_dir: Path, table_sha256: str | None = None, code: dict[str, str] | None = None) -> Scan:
    """Read every record of `out_dir`; ok records count as finished only when they were computed
    from the table with checksum `table_sha256` (any table when None)."""
    found = Scan()
    for path in sorted((Path(out_dir) / "cells").glob("*.json")):
        record, problem = read_record(path)
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
        used = (record.get("provenance") or {}).get("plugins")
        if isinstance(used, dict):
            found.plugins[path.stem] = {str(k): str(v) for k, v in used.items()}
        found.files[path.stem] = list(record.get("files", []))
    return found


def finished_ids(out_dir: Path, table_sha256: str | None = None) -> set[str]:
    """Ids of the cells whose stored record is valid and says `ok` (from that table, when given)."""
    return scan(out_dir, table_sha256).finished


def spec_cell_ids(root: Path) -> set[str] | None:
    """The cell ids of the spec that last ran into output folder `root` (None when unknown)."""
    try:
        data = read_json(Path(root) / SPEC_CELLS)
    except Unreadable:
        return None
    return set(data["ids"]) if schema_problem(SpecCells, data) is None else None


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
        _, problem = read_record(path)
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
    root = Path(out_dir).resolve()
    folder = Path(out_dir) / "predictions" / cell_id
    for name, text in files.items():
        target = inside(root, folder / name, f"cell {cell_id}'s file {name}")
        atomic.write_text(target, text)
    atomic.write_text(inside(root, cell_path(out_dir, cell_id), f"cell {cell_id}'s record"), dump_json(record, indent=None))


def inside(root: Path, path: Path, what: str) -> Path:
    """`path` when it resolves inside `root` (no link on the way leads out), else UserError."""
    target = Path(path).resolve()
    if root not in target.parents:
        raise UserError(f"{what} would be written outside {root} (to {target}); refusing to follow a link out")
    return target


def _link_problem(path: Path) -> str | None:
    if path.is_symlink():
        return (f"{path} is a symbolic link; a results folder must hold its own files (replace the link by a "
                "folder, or give another --out)")
    return None


def check_tree(out_dir: str | os.PathLike) -> None:
    """Refuse, in one line and before any work, a results folder whose tree holds a symbolic link
    (a write through it would land outside the folder) or a directory where a record or the lock
    file should be (a write over it would fail after the work)."""
    out_dir = Path(out_dir)
    for name in TREE:
        problem = _link_problem(out_dir / name)
        if problem:
            raise UserError(problem)
    for sub in ("predictions", "cache"):
        folder = out_dir / sub
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                problem = _link_problem(entry)
                if problem:
                    raise UserError(problem)
    for path in [out_dir / LOCK_NAME, out_dir / HOLDER_NAME, out_dir / SPEC_CELLS,
                 *sorted((out_dir / "cells").glob("*.json"))]:
        if path.is_dir() and not path.is_symlink():
            raise UserError(f"{path} is a directory where a file of the results folder should be; remove it")


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
            info = read_json(self.out_dir / HOLDER_NAME)
            return f"pid {info['pid']} on {info['host']} since {info['since']}"
        except (Unreadable, KeyError, TypeError):
            return "another process"

    def __enter__(self) -> "FolderLock":
        lock = self.out_dir / LOCK_NAME
        if lock.exists() and not is_regular_file(lock):
            raise UserError(f"{lock} is a {'directory' if lock.is_dir() else 'special file'} where the folder's "
                            "lock file should be; remove it")
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
        manifest = read_manifest(path)
        if manifest is not None and manifest.get("status") == "running":
            manifest.update(status="killed", marked_at=now(),
                            note="ended without recording its end (killed, or the machine stopped)")
            atomic.write_text(path, dump_json(manifest))
            marked += 1
    return marked
