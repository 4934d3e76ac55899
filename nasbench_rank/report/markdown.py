"""The leaderboard as Markdown. Every interval is named where it is printed: "median [95% bootstrap CI]",
"rate [95% Wilson CI]", "Kaplan-Meier median (reached k/n)"; no bare "±"."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from .tables import CELL_COLUMNS, CENSORED, STAT_COLUMNS, groups
from .units import Scale, eval_scale, report_scale, shorten_checksums

#: (measure, column title, how to print, number format: (value, reference value) -> text)
Shown = tuple[str, str, str, Callable[[Any, Any], str]]


def _fixed(digits: int, factor: float = 1.0) -> Callable[[Any, Any], str]:
    return lambda v, ref=None: f"{float(v) * factor:.{digits}f}"


def eval_shown(scale: Scale) -> list[Shown]:
    """The predictor-quality columns; the MAE in the scored metric's utility units."""
    return [("kendall", "Kendall median [95% bootstrap CI]", "median", _fixed(3)),
            ("kendall", "Kendall IQM [95% bootstrap CI]", "iqm", _fixed(3)),
            ("spearman", "Spearman median [95% bootstrap CI]", "median", _fixed(3)),
            ("mae", f"MAE, {scale.utility_unit} (median)", "median_only", scale.utility),
            ("precision_top5pct", "top-5% precision, % (median)", "median_only", _fixed(0, 100.0)),
            ("fit_seconds", "fit s (median)", "median_only", _fixed(1))]


def search_shown(scale: Scale) -> list[Shown]:
    """The search columns; the best cell's value in the report metric's units."""
    best = f"best {scale.label}"
    return [("best_test", f"{best} median [95% bootstrap CI]", "median", scale.value),
            ("best_test", f"{best} IQM [95% bootstrap CI]", "iqm", scale.value),
            ("evals_to_threshold", "evals to threshold: KM median (reached k/n)", "censored", _fixed(0)),
            ("evals_to_optimum", "evals to optimum: KM median (reached k/n)", "censored", _fixed(0)),
            ("reached_optimum", "optimum reached, % [95% Wilson CI]", "rate", _fixed(0, 100.0)),
            ("gpu_hours", "GPU h (median)", "median_only", _fixed(1))]


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


def fmt(row: pd.Series | None, how: str, number: Callable[[Any, Any], str]) -> str:
    if row is None:
        return "-"
    if how == "censored":
        if row["statistic"] != "censored":
            return "-"
        med = row["km_median"]
        text = number(med, med) if np.isfinite(med) else "-"
        return f"{text} ({int(row['reached'])}/{int(row['n'])})"
    if how == "rate":
        if not np.isfinite(row["rate"]):
            return "-"
        rate = row["rate"]
        return (f"{number(rate, rate)} [{number(row['rate_wilson95_low'], rate)}, "
                f"{number(row['rate_wilson95_high'], rate)}] ({int(row['reached'])}/{int(row['n'])})")
    centre = "iqm" if how == "iqm" else "median"
    value = row.get(centre, math.nan)
    if value is None or not np.isfinite(value):
        return f"- (0/{int(row['runs'])})" if row["runs"] else "-"
    text = number(value, value)
    lo, hi = row.get(f"{centre}_boot95_low", math.nan), row.get(f"{centre}_boot95_high", math.nan)
    if how != "median_only" and np.isfinite(lo):
        text += f" [{number(lo, value)}, {number(hi, value)}]"
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


def table(board: pd.DataFrame, keys: list[str], shown: list[Shown], search: bool) -> list[str]:
    keys = [k for k in keys if k in board.columns]
    varying, common = _split_keys(board, keys)
    shown = [s for s in shown if s[0] in set(board["measure"])]
    titles = varying + [t for _, t, _, _ in shown] + ["cells"] + (["stopped before budget"] if search else [])
    lines = []
    if common:
        lines += ["Every row: " + ", ".join(f"{k} {shorten_checksums(v)}" for k, v in common.items()) + ".", ""]
    lines += ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for group, part in groups(board, keys):
        by = {r["measure"]: r for _, r in part.iterrows()}
        cells = [shorten_checksums(str(group[k])) if str(group[k]) != "" else "-" for k in varying]
        cells += [fmt(by.get(m), how, number) for m, _, how, number in shown]
        first = part.iloc[0]
        cells.append(fmt_cells(first))
        if search:
            stopped = _int(first["stopped_early"])
            cells.append("?" if stopped is None else (f"**{stopped}**" if stopped else "0"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def by_scale(board: pd.DataFrame, kind: str) -> list[tuple[str, Scale, pd.DataFrame]]:
    """The board split by the metric its values are in (a predictor's scored metric, a search's report
    metric, per space): [(heading, scale, rows)], the heading "" when there is one metric only."""
    scale_of_row = eval_scale if kind == "eval" else report_scale
    space = board["space"].astype(str) if "space" in board.columns else pd.Series("", index=board.index)
    scales = [scale_of_row(r) for r in board.to_dict("records")]
    names = [f"{sp or 'nb201'}: {sc.label}" for sp, sc in zip(space, scales)]
    order = list(dict.fromkeys(sorted(names)))
    if len(order) == 1:
        return [("", scales[0], board)]
    out = []
    for name in order:
        rows = [i for i, n in enumerate(names) if n == name]
        out.append((f"**{name}**", scales[rows[0]], board.iloc[rows]))
    return out


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
    for kind, title in (("eval", "Predictor quality"), ("search", "Search")):
        board = boards.get(kind, pd.DataFrame())
        if board.empty:
            continue
        keys = [c for c in board.columns if c not in STAT_COLUMNS and c not in CELL_COLUMNS]
        parts += [f"## {title}", ""]
        for heading, scale, part in by_scale(board, kind):
            if heading:
                parts += [heading, ""]
            shown = eval_shown(scale) if kind == "eval" else search_shown(scale)
            parts += table(part, keys, shown, kind == "search") + [""]
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

