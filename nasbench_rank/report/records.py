"""What a results folder holds: cell records of `bench` grids checked one by one, the grid each folder
was asked to run (from the spec copy in its run metadata), and the CSVs of `run` and `eval`.

Nothing here trusts a file: a cell record that is not valid JSON, is not an object, lacks a field the
harness always writes, or says `ok` without rows (or, for a search, without a trace) is *unreadable*;
it is counted, never fatal. Records may carry fields this module does not know (provenance, ...): they
are kept and ignored. Reading never executes anything (JSON, TOML and CSV only).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..grid import store
from ..grid.store import asked_from_spec, unpack_rows, variant

KINDS = ("eval", "search")
#: The measure whose non-finite value makes a finished cell count as `nonfinite`.
HEADLINE = {"eval": "kendall", "search": "best_test"}


def problem(record: Any, stem: str | None = None) -> str | None:
    """Why `record` (a parsed cell file named `stem`) is unusable, or None when it is a valid record.
    The grid's own check (`grid.store.validate`) decides, so that resume and leaderboards agree on
    what counts as finished; a finished search must also hold a trace."""
    reason = store.validate(record, stem)
    if reason is None and record["status"] == "ok" and record["kind"] == "search" and not unpack_rows(record["trace"]):
        return "search finished without a trace"
    return reason


def _read_json(path: Path) -> tuple[Any, str | None]:
    """(parsed JSON, None), or (None, why not) for a file that is not a regular, bounded JSON file."""
    try:
        return store.read_json(path), None
    except store.Unreadable as exc:
        return None, str(exc)


def config_key(kind: str, settings: dict[str, Any], table: str | None = None) -> str:
    """A cell's configuration: its kind and settings without the seed (and the table it was
    computed from, when a folder mixes tables), as canonical JSON."""
    rest = {k: v for k, v in settings.items() if k != "seed"}
    if table is not None:
        rest["__table__"] = table
    return json.dumps({"kind": kind, **rest}, sort_keys=True, separators=(",", ":"), default=str)


def config_label(kind: str, settings: dict[str, Any]) -> str:
    """A short readable name of a cell configuration (the cell label without its seed)."""
    s = settings
    parts = [kind, str(s.get("predictor") or "-")]
    if s.get("loss"):
        parts.append(str(s["loss"]))
    if kind == "search":
        parts += [str(s.get("search")), str(s.get("dataset")), f"budget={s.get('budget')}"]
        if s.get("predictor"):
            parts.append(str(s.get("mode")))
        if s.get("oracle"):  # the label protocol, where the spec chose one (`labels`)
            parts.append(f"labels={s['oracle']}")
    else:
        targets = s.get("targets")
        parts.append("+".join(map(str, targets)) if isinstance(targets, list) else str(targets))
        parts.append(f"pool={s.get('pool')}")
    if s.get("n_train") and (kind == "eval" or s.get("predictor")):
        parts.append(f"n_train={s['n_train']}")
    if s.get("metric"):
        parts.append(f"metric={s['metric']}")
    if s.get("in_process"):
        parts.append("in-process")
    extra = variant(s)
    return " ".join(parts) + (f" {extra}" if extra else "")


def asked_cells(out_dir: Path) -> tuple[dict[str, tuple[str, dict]] | None, str]:
    """The cells the newest run of `out_dir` was asked for ({id: (kind, settings)}) and a note; None
    when there is no readable spec copy (then nothing counts as asked, missing or stale)."""
    readable = []
    for path in (out_dir / "runs").glob("*.json"):
        meta = store.read_manifest(path)
        if meta is None or meta.get("spec_text") is None:
            continue
        try:
            data = tomllib.loads(meta["spec_text"])
            readable.append(((str(meta.get("started_at") or ""), path.lstat().st_mtime_ns, path.name), path, meta, data))
        except (OSError, ValueError):
            continue
    for _, path, meta, data in sorted(readable, key=lambda m: m[0], reverse=True):  # the newest run first
        asked, problem = asked_from_spec(data, str(path))
        if problem:
            return None, f"{out_dir}: the spec of {path.name} no longer expands ({problem}); cells asked unknown"
        return asked, f"{out_dir}: spec {meta.get('spec_name', '?')} from {path.name}"
    return None, f"{out_dir}: no run metadata with a spec; cells asked unknown"


@dataclass
class Scan:
    """Every cell under a root: valid records by id (ok preferred), unreadable files, asked cells."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # cell id (file stem) -> reason
    asked: dict[str, tuple[str, dict]] = field(default_factory=dict)
    asked_known: bool = True
    notes: list[str] = field(default_factory=list)
    #: finished records of a cell already found with a finished record computed from another table:
    #: another computation, kept beside it and told apart by its table
    other_tables: list[dict[str, Any]] = field(default_factory=list)
    #: cell id -> the folders holding a finished record of it from the same table (counted once)
    repeated: dict[str, list[str]] = field(default_factory=dict)

    def tables(self) -> list[str]:
        """The distinct table checksums of the finished records."""
        return sorted({table_of(r) for r in self.finished()})

    def status(self, cell_id: str) -> str:
        record = self.records.get(cell_id)
        if record is not None:
            return "finished" if record["status"] == "ok" else "failed"
        return "unreadable" if cell_id in self.unreadable else "missing"

    def finished(self, exclude_stale: bool = False) -> list[dict[str, Any]]:
        out = [r for r in self.records.values() if r["status"] == "ok"] + self.other_tables
        if exclude_stale and self.asked_known:
            out = [r for r in out if r["id"] in self.asked]
        return sorted(out, key=lambda r: (r["id"], table_of(r)))


def table_of(record: dict[str, Any]) -> str:
    """The checksum of the table a record was computed from ('' when it names none)."""
    prov = record.get("provenance")
    return str(prov.get("table_sha256") or "") if isinstance(prov, dict) else ""


def short_table(sha: Any) -> str:
    """A table checksum as its first 8 hex digits (how leaderboards name a table)."""
    return str(sha)[:8] if sha else "none"


def scan(root: str | Path) -> Scan:
    """Read every `cells/*.json` under `root` (one output folder or a folder of them). A cell id found
    in two folders is one computation, counted once: an ok record wins over a failed one."""
    root = Path(root)
    result = Scan()
    out_dirs = sorted({p.parent.parent for p in root.rglob("cells/*.json")} | {p.parent.parent for p in root.rglob("runs/*.json")})
    for out_dir in out_dirs:
        asked, note = asked_cells(out_dir)
        result.notes.append(note)
        if asked is None:
            result.asked_known = False
        else:
            result.asked.update(asked)
        for path in sorted((out_dir / "cells").glob("*.json")):
            record, reason = _read_json(path)
            reason = reason or problem(record, path.stem)
            if reason is not None:
                result.unreadable.setdefault(path.stem, f"{path}: {reason}")
                continue
            record = {**record, "trace": unpack_rows(record["trace"]) if isinstance(record.get("trace"), dict) else [],
                      "dir": str(out_dir)}
            old = result.records.get(record["id"])
            if old is None or (old["status"] != "ok" and record["status"] == "ok"):
                result.records[record["id"]] = record
            elif old["status"] == "ok" and record["status"] == "ok":
                if table_of(old) != table_of(record):
                    result.other_tables.append(record)
                else:
                    result.repeated.setdefault(record["id"], [old["dir"]]).append(record["dir"])
    if result.repeated:
        folders = sorted({d for dirs in result.repeated.values() for d in dirs})
        result.notes.append(f"{len(result.repeated)} cells have a finished record in more than one folder "
                            f"({', '.join(folders)}), from the same table: the same computation, counted once")
    tables = result.tables()
    if len(tables) > 1:
        result.notes.append(f"finished cells were computed from {len(tables)} tables "
                            f"({', '.join(short_table(t) for t in tables)}): no configuration pools them, "
                            "each is split by its table (column `table`)")
    return result


def _nonfinite(record: dict[str, Any]) -> bool:
    measure = HEADLINE[record["kind"]]
    for row in record["rows"]:
        try:
            if not math.isfinite(float(row.get(measure))):
                return True
        except (TypeError, ValueError):
            return True
    return False


COUNT_COLUMNS = ("asked", "finished", "failed", "missing", "unreadable", "nonfinite", "stale")


def counts(result: Scan, exclude_stale: bool = False) -> pd.DataFrame:
    """One row per cell configuration: config (key), kind, label and the number of cells asked (by the
    newest spec of each folder; NaN when unknown), finished, failed, missing, unreadable, nonfinite
    (finished, but the headline measure is not a finite number) and stale (recorded but no longer
    asked; with `exclude_stale` they are counted there only, not as finished or failed). Unreadable
    files that no spec names have no configuration: their row is labelled so."""
    rows: dict[str, dict[str, Any]] = {}
    split = len(result.tables()) > 1  # a folder mixing tables: a configuration per table

    def row(kind: str, settings: dict, table: str | None = None) -> dict[str, Any]:
        key = config_key(kind, settings, table)
        if key not in rows:
            label = config_label(kind, settings) + (f" table={short_table(table)}" if table is not None else "")
            rows[key] = {"config": key, "kind": kind, "label": label, **{c: 0 for c in COUNT_COLUMNS}}
        return rows[key]

    for cell_id, (kind, settings) in result.asked.items():
        r = row(kind, settings)
        r["asked"] += 1
        r[result.status(cell_id)] += 1
    records = [(r["id"], r) for r in result.records.values()] + [(r["id"], r) for r in result.other_tables]
    for cell_id, record in records:
        if split and record["status"] == "ok":  # its finished count goes to its table's configuration
            t = row(record["kind"], record["settings"], table_of(record))
            t["finished"] += 1
            t["nonfinite"] += _nonfinite(record)
        r = row(record["kind"], record["settings"])
        if cell_id not in result.asked:  # recorded, but the newest spec does not ask for it (or none is known)
            stale = result.asked_known
            r["stale"] += stale
            if stale and exclude_stale:
                continue
            r["finished" if record["status"] == "ok" else "failed"] += 1
        if record["status"] == "ok" and _nonfinite(record):
            r["nonfinite"] += 1
    orphans = [i for i in result.unreadable if i not in result.asked and i not in result.records]
    if orphans:
        rows["?"] = {"config": "?", "kind": "?", "label": "(unreadable records no spec names)",
                     **{c: 0 for c in COUNT_COLUMNS}, "unreadable": len(orphans)}
    frame = pd.DataFrame(list(rows.values()), columns=["config", "kind", "label", *COUNT_COLUMNS])
    if not result.asked_known:
        frame["asked"] = frame["asked"].where(frame["asked"] > 0)  # NaN: not known
        frame["missing"] = frame["missing"].where(frame["asked"].notna())
    return frame.sort_values(["kind", "label"], kind="stable").reset_index(drop=True)


# --- CSVs written by `nasbench-rank run` and `nasbench-rank eval` ---------------------------------

RUN_REQUIRED = {"predictor", "search", "dataset", "budget", "seed", "best_test", "evals"}
EVAL_REQUIRED = {"predictor", "target", "n_train", "seed", "kendall"}
TRACE_REQUIRED = {"predictor", "search", "dataset", "seed", "eval", "best_test"}


def _kwargs_variant(row: dict[str, Any], columns: tuple[str, ...]) -> str:
    parts = []
    for c in columns:
        v = row.get(c)
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("", "{}"):
            continue
        parts.append(f"{c}={v}")
    return " ".join(parts)


def csv_sources(root: Path, skip: list[Path]) -> list[tuple[str, Path]]:
    """(kind, path) of the `run` (runs.csv) and `eval` CSVs under `root` (or `root` itself when it is a
    file), told apart by their columns, outside leaderboard, cells and predictions folders and the
    paths in `skip`."""
    paths = [root] if root.is_file() else sorted(root.rglob("*.csv"))
    out = []
    for path in paths:
        if any(part in ("leaderboard", "cells", "predictions") for part in path.relative_to(root).parts[:-1]) \
                or any(path.resolve().is_relative_to(s.resolve()) for s in skip) or not store.is_regular_file(path):
            continue  # a FIFO or device is never opened (reading it would block)
        try:
            columns = set(pd.read_csv(path, nrows=0).columns)
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if RUN_REQUIRED <= columns:
            out.append(("search", path))
        elif EVAL_REQUIRED <= columns:
            out.append(("eval", path))
    return out


def read_csv_rows(kind: str, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy rows (and, for a `run` output, the trace from trace.csv beside it) of one CSV, with
    `variant`, `cell_id` (file and seed) and `source_file` added."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    frame["source_file"] = str(path)
    if kind == "eval":
        frame["variant"] = [_kwargs_variant(r, ("predictor_kwargs",)) for r in frame.to_dict("records")]
        frame["cell_id"] = [f"{path}#{i}" for i in range(len(frame))]
        return frame.drop(columns=[c for c in ("predictor_kwargs",) if c in frame.columns]), pd.DataFrame()
    frame["variant"] = [_kwargs_variant(r, ("predictor_kwargs", "search_kwargs")) for r in frame.to_dict("records")]
    frame["cell_id"] = [f"{path}#{i}" for i in range(len(frame))]
    trace = pd.DataFrame()
    trace_path = path.with_name("trace.csv")
    if trace_path.is_file():
        try:
            raw = pd.read_csv(trace_path, keep_default_na=False, na_values=["", "nan", "NaN"])
        except (OSError, ValueError, UnicodeDecodeError):
            raw = pd.DataFrame()
        if TRACE_REQUIRED <= set(raw.columns):
            on = [c for c in ("predictor", "loss", "search", "mode", "source", "dataset", "metric", "budget", "n_train", "seed")
                  if c in raw.columns and c in frame.columns]
            link = frame[on + ["variant", "cell_id"]].drop_duplicates(on)
            trace = raw.astype({c: frame[c].dtype for c in on if raw[c].dtype != frame[c].dtype}, errors="ignore")
            trace = trace.merge(link, on=on, how="inner")
    drop = [c for c in ("predictor_kwargs", "search_kwargs") if c in frame.columns]
    return frame.drop(columns=drop), trace
