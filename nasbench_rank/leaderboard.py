"""Tidy result rows -> leaderboard CSVs (mean, std, 95% CI, n per configuration), Markdown and plots.

A configuration is every protocol field of a row except its seed: predictor, loss, search, mode,
source, dataset or target, pool, metric, budget, n_train, n_test and the plugin settings (`variant`).
The 95% interval is the two-sided t-interval of the mean over seeds, mean +- t(0.975, n-1) * s / sqrt(n)
with s the sample standard deviation (ddof=1); with one seed the std and interval are empty.
Runs that never reached a threshold or the optimum have no evaluation count (NaN): their measure is
averaged over the runs that did, and `n` (runs with a value) is then below `runs`.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from .errors import UserError
from .harness import PREDICTIONS_CSV, atomic_write_text, load_records, variant

EVAL_KEYS: tuple[str, ...] = ("predictor", "loss", "pool", "metric", "source", "target", "transfer",
                              "n_train", "n_test", "variant")
SEARCH_KEYS: tuple[str, ...] = ("predictor", "loss", "search", "mode", "source", "dataset", "metric", "budget",
                                "n_train", "variant")
EVAL_MEASURES: tuple[str, ...] = ("kendall", "spearman", "r2", "mae", "precision_top5pct", "fit_seconds")
SEARCH_MEASURES: tuple[str, ...] = ("best_test", "best_valid", "evals_to_threshold", "reached_threshold",
                                    "evals_to_optimum", "reached_optimum", "gpu_hours")
#: Wall-clock measures: they differ between two runs of the same grid, all others must not.
TIMING_MEASURES: tuple[str, ...] = ("fit_seconds", "fit_seconds_total", "search_seconds_excl_fit",
                                    "search_seconds_per_eval")
#: Bookkeeping columns: never a key, never a measure.
BOOKKEEPING: tuple[str, ...] = ("seed", "kind", "cell_id", "spec", "version", "best_index", "index")
STAT_COLUMNS: tuple[str, ...] = ("measure", "runs", "n", "mean", "std", "ci95_low", "ci95_high")
TRACE_EVAL, TRACE_BEST = "eval", "best_test"  # the trace columns plotted: evaluation number, best-so-far test %


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, std, ci_low, ci_high) of the finite values; NaN where undefined (n < 1, or n < 2)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return 1, mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return n, mean, std, mean - half, mean + half


def finished_records(root: str | Path) -> list[dict[str, Any]]:
    """The ok records under `root`, each cell once: a cell id found in two run folders is the same
    computation, and counting it twice would pass a repeat off as another seed."""
    seen: dict[str, dict[str, Any]] = {}
    for record in load_records(root):
        if record.get("status") == "ok":
            seen.setdefault(record["id"], record)
    return list(seen.values())


def frames(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The tidy rows of finished cell records: {"eval", "search", "trace"} frames."""
    eval_rows = [row for r in records if r["kind"] == "eval" for row in r["rows"]]
    search_rows = [row for r in records if r["kind"] == "search" for row in r["rows"]]
    trace_rows = [row for r in records if r["kind"] == "search" for row in r["trace"]]
    return {"eval": pd.DataFrame(eval_rows), "search": pd.DataFrame(search_rows), "trace": pd.DataFrame(trace_rows)}


def _sortable(col: pd.Series) -> pd.Series:
    """Numbers sort as numbers (n_train 50 < 900), anything else as text."""
    num = pd.to_numeric(col, errors="coerce")
    return num if num.notna().sum() == col.replace("", np.nan).notna().sum() else col.astype(str)


def _keys_frame(df: pd.DataFrame, keys: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    keys = [k for k in keys if k in df.columns]
    out = df.copy()
    for k in keys:  # a missing value is its own group ("no loss"), not a dropped row
        out[k] = out[k].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    return out, keys


def measures_of(df: pd.DataFrame, keys: Iterable[str], preferred: Iterable[str]) -> list[str]:
    """The known measures present, then any other numeric column that is neither key nor bookkeeping."""
    keys = set(keys)
    present = [m for m in preferred if m in df.columns]
    others = [c for c in df.columns if c not in keys and c not in present and c not in BOOKKEEPING
              and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
    return present + others


def summarize(df: pd.DataFrame, keys: Iterable[str], measures: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per configuration x measure: runs, n, mean, std, ci95_low, ci95_high (long format)."""
    if df.empty:
        return pd.DataFrame(columns=list(keys) + list(STAT_COLUMNS))
    df, keys = _keys_frame(df, keys)
    measures = list(measures) if measures is not None else measures_of(df, keys, ())
    out = []
    for group, part in df.groupby(keys, sort=False, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        for m in measures:
            if m not in part.columns:
                continue
            values = pd.to_numeric(part[m].astype(float), errors="coerce")
            n, mean, std, lo, hi = mean_ci(values)
            out.append({**dict(zip(keys, group)), "measure": m, "runs": len(part), "n": n, "mean": mean,
                        "std": std, "ci95_low": lo, "ci95_high": hi})
    result = pd.DataFrame(out)
    order = {m: i for i, m in enumerate(measures)}
    result["_m"] = result["measure"].map(order)
    result = result.sort_values(keys + ["_m"], key=lambda c: c if c.name == "_m" else _sortable(c), kind="stable")
    return result.drop(columns="_m").reset_index(drop=True)


def leaderboards(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{"eval": ..., "search": ...} aggregated leaderboards of `frames(...)`."""
    out = {}
    for kind, keys, preferred in (("eval", EVAL_KEYS, EVAL_MEASURES), ("search", SEARCH_KEYS, SEARCH_MEASURES)):
        df = tables[kind]
        present = [k for k in keys if k in df.columns]
        out[kind] = summarize(df, present, measures_of(df, present, preferred) if not df.empty else [])
    return out


def _fmt(row: pd.Series, digits: int) -> str:
    if row is None:
        return "-"
    if not np.isfinite(row["mean"]):
        return f"- (0/{row['runs']})" if row["runs"] else "-"
    text = f"{row['mean']:.{digits}f}"
    if np.isfinite(row["ci95_high"]):
        text += f" ± {(row['ci95_high'] - row['mean']):.{digits}f}"
    if row["n"] < row["runs"]:
        text += f" ({row['n']}/{row['runs']})"
    return text


def _markdown_table(board: pd.DataFrame, keys: list[str], shown: list[tuple[str, str, int]]) -> list[str]:
    keys = [k for k in keys if k in board.columns and (board[k].astype(str) != "").any()]
    shown = [(m, title, d) for m, title, d in shown if m in set(board["measure"])]
    lines = ["| " + " | ".join(keys + [t for _, t, _ in shown] + ["seeds"]) + " |",
             "|" + "---|" * (len(keys) + len(shown) + 1)]
    for group, part in board.groupby(keys, sort=False, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        by = {r["measure"]: r for _, r in part.iterrows()}
        cells = [str(v) if str(v) != "" else "-" for v in group]
        cells += [_fmt(by.get(m), d) for m, _, d in shown]
        cells.append(str(int(part["runs"].max())))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(boards: dict[str, pd.DataFrame]) -> str:
    """The leaderboards as Markdown: mean ± 95% CI half-width over seeds."""
    parts = ["# Leaderboard", "", "Mean ± half-width of the 95% t-interval over seeds; (k/n): only k of n runs "
             "have a value (the others never reached it).", ""]
    if not boards["eval"].empty:
        parts += ["## Predictor quality", ""]
        parts += _markdown_table(boards["eval"], [k for k in EVAL_KEYS if k != "variant"] + ["variant"], [
            ("kendall", "Kendall", 3), ("spearman", "Spearman", 3), ("r2", "R²", 3), ("mae", "MAE", 4),
            ("precision_top5pct", "P@top5%", 3), ("fit_seconds", "fit s", 1)])
        parts.append("")
    if not boards["search"].empty:
        parts += ["## Search", ""]
        parts += _markdown_table(boards["search"], list(SEARCH_KEYS), [
            ("best_test", "best test %", 2), ("evals_to_threshold", "evals to threshold", 1),
            ("evals_to_optimum", "evals to optimum", 1), ("reached_optimum", "optimum rate", 2),
            ("gpu_hours", "GPU h", 1)])
        parts.append("")
    return "\n".join(parts)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    tmp.replace(path)


def _label(values: dict[str, Any]) -> str:
    parts = [str(v) for v in values.values() if str(v) not in ("", "none", "0")]
    return " ".join(parts) or "-"


def _line_labels(groups: list[dict[str, Any]]) -> list[str]:
    """Short legend labels: the fields that vary, plugin settings only where needed to tell lines apart."""
    keys = [k for k in (groups[0] if groups else {}) if len({str(g[k]) for g in groups}) > 1]
    short = [_label({k: g[k] for k in keys if k != "variant"}) for g in groups]
    return [s if short.count(s) == 1 else f"{s} {g.get('variant', '')}".strip() for s, g in zip(short, groups)]


def plot_traces(trace: pd.DataFrame, path: Path) -> bool:
    """Best-so-far test accuracy vs evaluations, mean and 95% band over seeds; a panel per dataset."""
    if trace.empty or TRACE_EVAL not in trace.columns or TRACE_BEST not in trace.columns:
        return False
    plt = _plt()
    trace, keys = _keys_frame(trace, [k for k in SEARCH_KEYS if k != "dataset"])
    datasets = sorted(trace["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = trace[trace["dataset"] == dataset]
        lines = list(part.groupby(keys, sort=True, dropna=False))
        labels = _line_labels([dict(zip(keys, g if isinstance(g, tuple) else (g,))) for g, _ in lines])
        shown = []
        for (_, line), label in zip(lines, labels):
            wide = line.pivot_table(index=TRACE_EVAL, columns="cell_id", values=TRACE_BEST).ffill()
            stats_ = [mean_ci(wide.loc[e]) for e in wide.index]
            mean = np.array([s[1] for s in stats_])
            lo = np.clip([s[3] for s in stats_], 0, 100)
            hi = np.clip([s[4] for s in stats_], 0, 100)
            (drawn,) = ax.plot(wide.index, mean, label=label, lw=1.4)
            if np.isfinite(lo).any():
                ax.fill_between(wide.index, lo, hi, color=drawn.get_color(), alpha=0.2, lw=0)
            shown.append(mean[wide.index >= 0.1 * wide.index.max()])
        values = np.concatenate(shown)
        ax.set_ylim(values.min() - 3, min(100, values.max() + 2))  # the means, not a 2-seed band's extent
        ax.set_title(dataset)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best-so-far test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)
    return True


def plot_kendall_vs_ntrain(board: pd.DataFrame, path: Path) -> bool:
    """Kendall tau (mean, 95% CI bars) against training-set size; a panel per target dataset."""
    if board.empty or "kendall" not in set(board["measure"]):
        return False
    plt = _plt()
    rows = board[board["measure"] == "kendall"].copy()
    rows["n_train"] = pd.to_numeric(rows["n_train"])
    targets = sorted(rows["target"].astype(str).unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 4), squeeze=False)
    line_keys = [k for k in ("predictor", "loss", "pool", "metric", "source", "n_test", "variant") if k in rows.columns]
    sizes = sorted(rows["n_train"].unique())
    for ax, target in zip(axes[0], targets):
        part = rows[rows["target"].astype(str) == target]
        lines = list(part.groupby(line_keys, sort=True, dropna=False))
        labels = _line_labels([dict(zip(line_keys, g if isinstance(g, tuple) else (g,))) for g, _ in lines])
        for (_, line), label in zip(lines, labels):
            line = line.sort_values("n_train")
            err = np.vstack([line["mean"] - line["ci95_low"], line["ci95_high"] - line["mean"]])
            ax.errorbar(line["n_train"], line["mean"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                        label=label if label != "-" else line["predictor"].iloc[0])
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(int(n)) for n in sizes])
        ax.minorticks_off()
        ax.set_title(f"target {target}")
        ax.set_xlabel("training cells (n_train)")
        ax.set_ylabel("Kendall tau")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)
    return True


def plot_scatter(points: pd.DataFrame, title: str, path: Path) -> bool:
    """Predicted vs true accuracy of held-out cells; a panel per target dataset."""
    if points.empty:
        return False
    plt = _plt()
    targets = sorted(points["target"].astype(str).unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 4.2), squeeze=False)
    for ax, target in zip(axes[0], targets):
        part = points[points["target"].astype(str) == target]
        tau = stats.kendalltau(part["true"], part["predicted"]).statistic
        ax.scatter(part["true"], part["predicted"], s=6, alpha=0.5)
        ax.set_title(f"{target} (Kendall {tau:.3f}, {len(part)} cells)")
        ax.set_xlabel("true accuracy")
        ax.set_ylabel("predicted")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    _save(fig, path)
    return True


def scatter_sources(records: list[dict[str, Any]]) -> dict[str, tuple[str, Path]]:
    """Plot name -> (title, predictions CSV): per predictor, loss and settings, the saved predictions of its
    largest training set's lowest seed."""
    best: dict[tuple[str, str, str], tuple[tuple[int, int], Path]] = {}
    for r in records:
        if r["kind"] != "eval" or PREDICTIONS_CSV not in r.get("files", []):
            continue
        s = r["settings"]
        key = (s["predictor"], s.get("loss") or "", variant(s))
        rank = (-int(s["n_train"]), int(s["seed"]))
        if key not in best or rank < best[key][0]:
            best[key] = (rank, Path(r["dir"]) / "predictions" / r["id"] / PREDICTIONS_CSV)
    out = {}
    for (predictor, loss, settings), (rank, path) in sorted(best.items()):
        name = "_".join(p for p in (predictor, loss, hashlib.sha256(settings.encode()).hexdigest()[:6] if settings else "") if p)
        title = " ".join(p for p in (predictor, loss, settings) if p) + f" (n_train {-rank[0]}, seed {rank[1]})"
        out[f"scatter_{name}"] = (title, path)
    return out


def write(root: str | Path, out: str | Path | None = None, plots: bool = True) -> list[Path]:
    """Aggregate every finished cell under `root` into `out` (default root/leaderboard); return the
    files written."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"no such results directory: {root}")
    out = Path(out) if out else root / "leaderboard"
    records = finished_records(root)
    tables = frames(records)
    if all(t.empty for t in tables.values()):
        raise UserError(f"no finished cells under {root} (run 'nasbench-rank bench SPEC --out {root}' first)")
    boards = leaderboards(tables)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("eval_rows", tables["eval"]), ("search_rows", tables["search"]),
                        ("search_trace", tables["trace"]), ("leaderboard_eval", boards["eval"]),
                        ("leaderboard_search", boards["search"])):
        if not frame.empty:
            path = out / f"{name}.csv"
            atomic_write_text(path, frame.to_csv(index=False))
            written.append(path)
    path = out / "leaderboard.md"
    atomic_write_text(path, markdown(boards))
    written.append(path)
    if plots:
        candidates = [(plot_traces, (tables["trace"],), "search_trace.png"),
                      (plot_kendall_vs_ntrain, (boards["eval"],), "kendall_vs_ntrain.png")]
        for name, (title, source) in scatter_sources(records).items():
            candidates.append((plot_scatter, (pd.read_csv(source), title), f"{name}.png"))
        for fn, args, name in candidates:
            if fn(*args, out / name):
                written.append(out / name)
    return written
