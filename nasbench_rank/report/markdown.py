"""The leaderboard as Markdown. Every interval is named where it is printed: "median [95% bootstrap CI]",
"rate [95% Wilson CI]", "Kaplan-Meier median (reached k/n)"; no bare "±"."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .tables import CELL_COLUMNS, CENSORED, STAT_COLUMNS, groups

# (measure, column title, how to print, digits, scale)
EVAL_SHOWN = [("kendall", "Kendall median [95% bootstrap CI]", "median", 3, 1.0),
              ("kendall", "Kendall IQM [95% bootstrap CI]", "iqm", 3, 1.0),
              ("spearman", "Spearman median [95% bootstrap CI]", "median", 3, 1.0),
              ("mae", "MAE, % points (median)", "median_only", 2, 100.0),
              ("precision_top5pct", "top-5% precision, % (median)", "median_only", 0, 100.0),
              ("fit_seconds", "fit s (median)", "median_only", 1, 1.0)]
SEARCH_SHOWN = [("best_test", "best test % median [95% bootstrap CI]", "median", 2, 1.0),
                ("best_test", "best test % IQM [95% bootstrap CI]", "iqm", 2, 1.0),
                ("evals_to_threshold", "evals to threshold: KM median (reached k/n)", "censored", 0, 1.0),
                ("evals_to_optimum", "evals to optimum: KM median (reached k/n)", "censored", 0, 1.0),
                ("reached_optimum", "optimum reached, % [95% Wilson CI]", "rate", 0, 100.0),
                ("gpu_hours", "GPU h (median)", "median_only", 1, 1.0)]

LEGEND = """Statistics over seeds, per configuration. *median [95% bootstrap CI]*: the median and its
two-sided 95% percentile-bootstrap interval (2,000 resamples, fixed seed); *IQM*: interquartile mean
(mean of the middle half), same interval; *rate [95% Wilson CI]*: share of runs with the Wilson score
interval; *KM median (reached k/n)*: evaluations until the goal, Kaplan-Meier median with runs that
never got there censored at the evaluations they made, "-" when fewer than half got there; never a
mean over the runs that did. *(n/m)* after a value: only n of the m runs had a finite value. *cells*:
finished/asked, then failed, missing (no record), unreadable (a record that does not parse or
validate), non-finite (finished with a non-finite headline measure) and stale (recorded, but no longer
asked by the folder's newest spec) where there are any. The mean with its 95% t-interval is in the CSVs
(`mean`, `mean_t95_low`, `mean_t95_high`) for the measures where a mean is meaningful."""


def _num(v: Any, digits: int, scale: float) -> str:
    return f"{float(v) * scale:.{digits}f}"


def fmt(row: pd.Series | None, how: str, digits: int, scale: float) -> str:
    if row is None:
        return "-"
    if how == "censored":
        if row["statistic"] != "censored":
            return "-"
        med = row["km_median"]
        text = _num(med, digits, scale) if np.isfinite(med) else "-"
        return f"{text} ({int(row['reached'])}/{int(row['n'])})"
    if how == "rate":
        if not np.isfinite(row["rate"]):
            return "-"
        return (f"{_num(row['rate'], digits, scale)} [{_num(row['rate_wilson95_low'], digits, scale)}, "
                f"{_num(row['rate_wilson95_high'], digits, scale)}] ({int(row['reached'])}/{int(row['n'])})")
    centre = "iqm" if how == "iqm" else "median"
    value = row.get(centre, math.nan)
    if value is None or not np.isfinite(value):
        return f"- (0/{int(row['runs'])})" if row["runs"] else "-"
    text = _num(value, digits, scale)
    lo, hi = row.get(f"{centre}_boot95_low", math.nan), row.get(f"{centre}_boot95_high", math.nan)
    if how != "median_only" and np.isfinite(lo):
        text += f" [{_num(lo, digits, scale)}, {_num(hi, digits, scale)}]"
    if row["n"] < row["runs"]:
        text += f" ({int(row['n'])}/{int(row['runs'])})"
    return text


def _int(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)


def fmt_cells(row: pd.Series) -> str:
    asked, finished = _int(row["cells_asked"]), _int(row["cells_finished"])
    text = f"{finished if finished is not None else '?'}/{asked if asked is not None else '?'}"
    extra = [f"{_int(row[f'cells_{c}'])} {label}" for c, label in
             (("failed", "failed"), ("missing", "missing"), ("unreadable", "unreadable"), ("nonfinite", "non-finite"),
              ("stale", "stale")) if _int(row[f"cells_{c}"])]
    return text + (f" ({', '.join(extra)})" if extra else "")


def _split_keys(board: pd.DataFrame, keys: list[str]) -> tuple[list[str], dict[str, str]]:
    """Keys that vary between rows (shown as columns) and those that do not (said once above)."""
    varying, common = [], {}
    for k in keys:
        values = board[k].astype(str).unique()
        if len(values) > 1:
            varying.append(k)
        elif values[0] not in ("",):
            common[k] = values[0]
    return varying, common


def table(board: pd.DataFrame, keys: list[str], shown: list[tuple[str, str, str, int, float]], search: bool) -> list[str]:
    keys = [k for k in keys if k in board.columns]
    varying, common = _split_keys(board, keys)
    shown = [s for s in shown if s[0] in set(board["measure"])]
    titles = varying + [t for _, t, _, _, _ in shown] + ["cells"] + (["stopped before budget"] if search else [])
    lines = []
    if common:
        lines += ["Every row: " + ", ".join(f"{k} {v}" for k, v in common.items()) + ".", ""]
    lines += ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for group, part in groups(board, keys):
        by = {r["measure"]: r for _, r in part.iterrows()}
        cells = [str(group[k]) if str(group[k]) != "" else "-" for k in varying]
        cells += [fmt(by.get(m), how, d, s) for m, _, how, d, s in shown]
        first = part.iloc[0]
        cells.append(fmt_cells(first))
        if search:
            stopped = _int(first["stopped_early"])
            cells.append("?" if stopped is None else (f"**{stopped}**" if stopped else "0"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def counts_table(counts: pd.DataFrame) -> list[str]:
    lines = ["| configuration | asked | finished | failed | missing | unreadable | non-finite | stale |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in counts.iterrows():
        vals = [_int(r[c]) for c in ("asked", "finished", "failed", "missing", "unreadable", "nonfinite", "stale")]
        lines.append("| " + " | ".join([str(r["label"])] + ["?" if v is None else str(v) for v in vals]) + " |")
    return lines


def paired_lines(paired: pd.DataFrame, title: str) -> list[str]:
    if paired.empty:
        return []
    task_keys = [c for c in paired.columns if c not in ("method", "baseline", "measure", "n_pairs", "wins", "ties",
                                                        "losses", "win_rate", "median_diff", "wilcoxon_p",
                                                        "censored_pairs", "indeterminate")]
    varying = [k for k in task_keys if paired[k].astype(str).nunique() > 1]
    measure, baseline = paired["measure"].iloc[0], paired["baseline"].iloc[0]
    lines = [f"### {title}: paired against {baseline} over shared seeds ({measure})", "",
             f"Per task and method: pairs (seeds both ran), median of (method - {baseline}) per seed, wins/ties/"
             f"losses of the method, win rate = wins/pairs, two-sided Wilcoxon signed-rank p-value (not corrected "
             f"for the {len(paired)} comparisons)."
             + (f" A run that never got there counts as later than every run that did (both never: a tie); "
                f"{int(paired['censored_pairs'].sum())} pairs had a censored side, and "
                f"{int(paired['indeterminate'].sum())} pairs whose order is unknown (a run stopped before the "
                f"other got there) are left out." if measure in CENSORED and "censored_pairs" in paired else ""), "",
             "| " + " | ".join(varying + ["method", "pairs", "median difference", "wins/ties/losses", "win rate",
                                          "Wilcoxon p"]) + " |",
             "|" + "---|" * (len(varying) + 6)]
    for _, r in paired.iterrows():
        p = r["wilcoxon_p"]
        lines.append("| " + " | ".join([str(r[k]) for k in varying] + [
            str(r["method"]), str(int(r["n_pairs"])), f"{r['median_diff']:+.3f}" if np.isfinite(r["median_diff"]) else "-",
            f"{int(r['wins'])}/{int(r['ties'])}/{int(r['losses'])}",
            f"{100 * r['win_rate']:.0f}%" if np.isfinite(r["win_rate"]) else "-",
            f"{p:.3g}" if np.isfinite(p) else "-"]) + " |")
    lines.append("")
    return lines


def rank_lines(ranks: pd.DataFrame, info: dict[str, Any], title: str, plot: str | None) -> list[str]:
    if ranks.empty:
        return []
    lines = [f"### {title}: average ranks across tasks ({info['measure']})", "",
             f"Rank of each method's median {info['measure']} within each of the {info['tasks']} tasks (1 = best; "
             + ("Kaplan-Meier median, where fewer than half the runs getting there ranks last; "
                if info["measure"] in CENSORED else "")
             + "ties share ranks), averaged. "
             + (f"Friedman p = {info['friedman_p']:.3g}; " if np.isfinite(info["friedman_p"]) else
                "Friedman test: needs 3 methods and 2 tasks; ")
             + f"Nemenyi critical difference "
             f"(alpha 0.05) = {info['cd']:.2f}: two methods whose average ranks differ by less are not told apart."
             + (f" Left out (not run on every task): {', '.join(info['dropped'])}." if info.get("dropped") else "")
             + (f" Plot: `{plot}`." if plot else ""), "",
             "| method | average rank | tasks |", "|---|---|---|"]
    for _, r in ranks.iterrows():
        lines.append(f"| {r['method']} | {r['average_rank']:.2f} | {int(r['n_tasks'])} |")
    lines.append("")
    return lines


def markdown(boards: dict[str, pd.DataFrame], counts: pd.DataFrame | None = None,
             extras: dict[str, Any] | None = None) -> str:
    """The leaderboard document: legend, cell counts, quality and search tables, paired tests, ranks, notes."""
    extras = extras or {}
    parts = ["# Leaderboard", "", LEGEND, ""]
    if counts is not None and not counts.empty:
        parts += ["## Cells per configuration", ""] + counts_table(counts) + [""]
    for kind, title, shown in (("eval", "Predictor quality", EVAL_SHOWN), ("search", "Search", SEARCH_SHOWN)):
        board = boards.get(kind, pd.DataFrame())
        if board.empty:
            continue
        keys = [c for c in board.columns if c not in STAT_COLUMNS and c not in CELL_COLUMNS]
        parts += [f"## {title}", ""] + table(board, keys, shown, kind == "search") + [""]
        if kind == "search":
            parts += ["*stopped before budget*: runs that made fewer evaluations than their budget (flagged in bold).", ""]
        paired = extras.get(f"paired_{kind}", pd.DataFrame())
        for _, part in (paired.groupby("measure", sort=False) if not paired.empty else []):
            parts += paired_lines(part.dropna(axis=1, how="all"), title)
        for name in [n for n in extras if n == f"ranks_{kind}" or n.startswith(f"ranks_{kind}_")]:
            ranks, info = extras[name]
            parts += rank_lines(ranks, info, title, extras.get(f"cd_plot_{name[len('ranks_'):]}"))
    notes = extras.get("notes") or []
    if notes:
        parts += ["## Sources", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)

