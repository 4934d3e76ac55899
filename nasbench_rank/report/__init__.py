"""Reports of results folders: `nasbench-rank leaderboard DIR`.

- `records`: what a folder holds (cell records checked one by one, the grid asked for, `run`/`eval` CSVs)
  and how many cells of each configuration were asked, finished, failed, missing or unreadable;
- `stats`: bootstrap, t, Wilson and Kaplan-Meier statistics, paired tests, average ranks;
- `tables`: tidy rows -> leaderboards, paired comparisons, rank tables;
- `markdown`, `plots`: the printed leaderboard and its figures;
- `write`: all of it into a folder.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_text, write_with
from ..errors import UserError
from ..grid import store
from ..grid.store import PREDICTIONS_CSV, variant
from . import markdown as md
from . import plots as figures
from . import records, tables, units
from .tables import TIMING_MEASURES, leaderboards

__all__ = ["TIMING_MEASURES", "finished_records", "frames", "leaderboards", "write"]


def finished_records(root: str | Path, exclude_stale: bool = False) -> list[dict[str, Any]]:
    """The valid `ok` records under `root`, each cell once: a cell id found in two run folders is the
    same computation, and counting it twice would pass a repeat off as another seed."""
    return records.scan(root).finished(exclude_stale)


def frames(recs: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The tidy rows of finished cell records: {"eval", "search", "trace"} frames, each row with the
    `config` of its cell (to join cell counts). Records computed from more than one table: the
    config names the table too (see `records.counts`)."""
    out: dict[str, list[dict]] = {"eval": [], "search": [], "trace": []}
    split = len({records.table_of(r) for r in recs}) > 1
    for r in recs:
        config = records.config_key(r["kind"], r["settings"], records.table_of(r) if split else None)
        out[r["kind"]] += [{**row, "config": config} for row in r["rows"]]
        if r["kind"] == "search":
            out["trace"] += [{**row, "config": config} for row in r["trace"]]
    return {k: pd.DataFrame(v) for k, v in out.items()}


def scatter_sources(recs: list[dict[str, Any]]) -> dict[str, tuple[str, Path, units.Scale, bool]]:
    """Plot name -> (title, predictions CSV, scale of its metric, whether its `true` column is in the
    metric's units): per predictor, loss and settings, the saved predictions of its largest training
    set's lowest seed. NB201 cells save fractions; a cell naming another space saves the metric's values."""
    best: dict[tuple[str, str, str], tuple[tuple[int, int], Path, dict]] = {}
    for r in recs:
        if r["kind"] != "eval" or PREDICTIONS_CSV not in (r.get("files") or []):
            continue
        s = r["settings"]
        try:
            key = (str(s["predictor"]), str(s.get("loss") or ""), variant(s))
            rank = (-int(s["n_train"]), int(s["seed"]))
        except (KeyError, TypeError, ValueError):
            continue
        if key not in best or rank < best[key][0]:
            best[key] = (rank, Path(r["dir"]) / "predictions" / r["id"] / PREDICTIONS_CSV, s)
    out = {}
    for (predictor, loss, settings), (rank, path, s) in sorted(best.items()):
        name = "_".join(p for p in (predictor, loss, hashlib.sha256(settings.encode()).hexdigest()[:6] if settings else "") if p)
        title = " ".join(p for p in (predictor, loss, settings) if p) + f" (n_train {-rank[0]}, seed {rank[1]})"
        space = s.get("space") or None
        out[f"scatter_{name}"] = (title, path, units.scale_of(space, s.get("metric")), space is not None)
    return out


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True, sort=False) if parts else pd.DataFrame()


def collect(root: Path, out: Path, exclude_stale: bool) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None,
                                                                   list[dict[str, Any]], list[str]]:
    """Tidy rows of every cell record and `run`/`eval` CSV under `root`, the cell counts (None when
    there are no cell records), the finished records and notes on the sources."""
    notes: list[str] = []
    recs: list[dict[str, Any]] = []
    counts = None
    if root.is_dir():
        found = records.scan(root)
        if found.records or found.unreadable or found.asked:
            recs = found.finished(exclude_stale)
            counts = records.counts(found, exclude_stale)
            notes += found.notes
            for cell_id, reason in list(found.unreadable.items())[:20]:
                notes.append(f"unreadable record {reason}")
            if len(found.unreadable) > 20:
                notes.append(f"... and {len(found.unreadable) - 20} more unreadable records")
            if exclude_stale:
                notes.append("stale cells (not in the newest spec) left out of the statistics (--exclude-stale)")
    tables_ = frames(recs)
    extra: dict[str, list[pd.DataFrame]] = {"eval": [], "search": [], "trace": []}
    for kind, path in records.csv_sources(root, [out]):
        try:
            rows, trace = records.read_csv_rows(kind, path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            notes.append(f"{path}: unreadable CSV ({type(exc).__name__}); left out")
            continue
        extra[kind].append(rows)
        extra["trace"].append(trace)
        notes.append(f"{path}: {len(rows)} rows in the format of `nasbench-rank {'run' if kind == 'search' else 'eval'}`"
                     " (cells asked, failed and missing are not known for a CSV)")
    for kind in extra:
        tables_[kind] = _concat([tables_[kind]] + extra[kind])
    split_by_table(tables_, notes)
    return tables_, counts, recs, notes


def split_by_table(data: dict[str, pd.DataFrame], notes: list[str]) -> None:
    """Where the rows of a kind come from more than one table (their `table_sha256`), add a `table`
    column (its first 8 hex digits), a key like any other text column: no configuration pools rows
    of two tables. Says so in `notes` (once, unless the records' scan already did)."""
    for kind in ("eval", "search"):
        df = data[kind]
        if df.empty or "table_sha256" not in df.columns:
            continue
        shas = df["table_sha256"].map(lambda v: "" if tables.blank(v) else str(v))
        if shas.nunique() < 2:
            continue
        data[kind] = df.assign(table=shas.map(records.short_table))
        if kind == "search" and not data["trace"].empty and "table_sha256" in data["trace"].columns:
            data["trace"] = data["trace"].assign(
                table=data["trace"]["table_sha256"].map(lambda v: records.short_table("" if tables.blank(v) else v)))
        named = ", ".join(sorted(set(data[kind]["table"])))
        if not any("tables (" in n and named.split(", ")[0] in n for n in notes):
            notes.append(f"{kind} rows were computed from {shas.nunique()} tables ({named}): no configuration "
                         "pools them, each is split by its table (column `table`)")


def write(root: str | Path, out: str | Path | None = None, plots: bool = True, baseline: str | None = None,
          exclude_stale: bool = False) -> list[Path]:
    """Aggregate every finished cell (and `run`/`eval` CSV) under `root` into `out` (default
    root/leaderboard); return the files written."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"no such results directory: {root}")
    out = Path(out) if out else (root if root.is_dir() else root.parent) / "leaderboard"
    if out.is_symlink():
        raise UserError(f"{out} is a symbolic link; the leaderboard writes only into a folder of its own "
                        "(replace the link by a folder, or give another --out)")
    data, counts, recs, notes = collect(root, out, exclude_stale)
    if all(t.empty for t in data.values()) and counts is None:
        raise UserError(f"no finished cells under {root} (run 'nasbench-rank bench SPEC --out {root}' first)")
    if baseline:
        check_baseline(data, baseline)
    boards = leaderboards(data, counts)
    extras: dict[str, Any] = {"notes": notes}
    for kind in ("eval", "search"):
        if baseline:
            frames_ = [tables.paired_table(data[kind], kind, baseline, m) for m in tables.compared_measures(data[kind], kind)]
            frames_ = [f for f in frames_ if not f.empty]
            extras[f"paired_{kind}"] = pd.concat(frames_, ignore_index=True) if frames_ else pd.DataFrame()
        extras[f"ranks_{kind}"] = tables.rank_table(data[kind], kind)
        for m in tables.compared_measures(data[kind], kind)[1:]:
            extras[f"ranks_{kind}_{m}"] = tables.rank_table(data[kind], kind, m)
    written: list[Path] = []
    csvs = [("eval_rows", data["eval"]), ("search_rows", data["search"]), ("search_trace", data["trace"]),
            ("leaderboard_eval", boards["eval"]), ("leaderboard_search", boards["search"]),
            ("cells", counts if counts is not None else pd.DataFrame())]
    csvs += [(f"paired_{k}", extras.get(f"paired_{k}", pd.DataFrame())) for k in ("eval", "search")]
    csvs += [(name, extras[name][0]) for name in extras if name.startswith("ranks_")]
    for name, frame in csvs:
        if frame is not None and not frame.empty:
            path = out / f"{name}.csv"
            if name != "cells" and "config" in frame.columns:  # the join key of the counts, not a result
                frame = frame.drop(columns="config")
            write_with(path, lambda tmp, f=frame: f.to_csv(tmp, index=False))
            written.append(path)
    if plots:
        written += _plots(data, boards, recs, extras, out)
    from . import scoreboard

    written += scoreboard.write(data["search"], data["trace"], out, plots)
    path = out / "leaderboard.md"
    write_text(path, md.markdown(boards, counts, extras))
    written.insert(0, path)
    return written


def check_baseline(data: dict[str, pd.DataFrame], baseline: str) -> None:
    """Refuse, before anything is written, a --baseline that names no method, predictor or strategy."""
    names: set[str] = set()
    for kind in ("eval", "search"):
        df = data[kind]
        if df.empty:
            continue
        for row in df.to_dict("records"):
            names.add(tables.method_label(row, kind))
            names.update(str(row[c]) for c in ("predictor", "search") if c in row and not tables.blank(row[c]))
    if baseline not in names:
        raise UserError(f"baseline {baseline!r} names no method, predictor or strategy here; known: "
                        f"{', '.join(sorted(names)) or '(none)'}")


def _plots(data: dict[str, pd.DataFrame], boards: dict[str, pd.DataFrame], recs: list[dict[str, Any]],
           extras: dict[str, Any], out: Path) -> list[Path]:
    written = []
    search_keys = tables.board_keys(data["search"], "search")
    eval_keys = tables.board_keys(data["eval"], "eval")
    jobs = [(figures.plot_traces, (data["trace"], data["search"], search_keys), "search_trace.png"),
            (figures.plot_reached, (data["search"], search_keys), "reached_optimum.png"),
            (figures.plot_kendall_vs_ntrain, (data["eval"], eval_keys), "kendall_vs_ntrain.png")]
    titles = {"eval": "Predictor quality", "search": "Search"}
    for name in [n for n in extras if n.startswith("ranks_")]:
        ranks, info = extras[name]
        kind = name.split("_")[1]
        title = f"{titles[kind]} ({info.get('measure', tables.HEADLINE[kind])})"
        jobs.append((figures.plot_cd, (ranks, info, title), f"cd_{name[len('ranks_'):]}.png"))
    for name, (title, source, scale, in_units) in scatter_sources(recs).items():
        if not store.is_regular_file(source):
            continue
        try:
            points = pd.read_csv(source)
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        jobs.append((partial(figures.plot_scatter, scale=scale, in_metric_units=in_units), (points, title), f"{name}.png"))
    for fn, args, name in jobs:
        if fn(*args, out / name):
            written.append(out / name)
            if name.startswith("cd_"):
                extras[f"cd_plot_{name[3:-4]}"] = name
    return written
