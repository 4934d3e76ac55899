"""Leaderboard tables: tidy rows -> one row per configuration and measure with robust statistics,
cell counts, paired comparisons against a baseline and average ranks across tasks.

A configuration is every protocol field of a row except its seed (predictor, loss, search, mode,
source, dataset or target, pool, metric, budget, n_train, n_test, the plugin settings `variant`, and
any other text column a row carries, such as a search space). Each measure is summarised by its kind:

- a score or cost (Kendall, best test accuracy, seconds, ...): median and IQM, each with a 95%
  percentile-bootstrap interval, and the mean with its 95% t-interval;
- a rate (reached_optimum, ...): k of n and the rate with its 95% Wilson interval;
- evaluations to a goal (evals_to_threshold, evals_to_optimum): censored at the evaluations a run
  made when it never got there; the Kaplan-Meier median and "reached k of n", no mean.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import UserError
from ..provenance import PROVENANCE_COLUMNS
from . import stats

EVAL_KEYS: tuple[str, ...] = ("predictor", "loss", "pool", "metric", "source", "target", "transfer",
                              "n_train", "n_test", "variant")
SEARCH_KEYS: tuple[str, ...] = ("predictor", "loss", "search", "mode", "source", "dataset", "metric", "budget",
                                "n_train", "variant", "isolation")
#: Fields that tell methods apart; every other key is the task a method is compared on.
METHOD_KEYS = {"eval": ("predictor", "loss", "variant"),
               "search": ("predictor", "loss", "search", "mode", "source", "n_train", "variant", "isolation")}
EVAL_MEASURES: tuple[str, ...] = ("kendall", "spearman", "r2", "mae", "precision_top5pct", "fit_seconds")
SEARCH_MEASURES: tuple[str, ...] = ("best_test", "best_valid", "evals_to_threshold", "reached_threshold",
                                    "evals_to_optimum", "reached_optimum", "evals", "gpu_hours")
HEADLINE = {"eval": "kendall", "search": "best_test"}
LOWER_IS_BETTER = {"mae", "fit_seconds", "fit_seconds_total", "gpu_hours", "evals_to_threshold", "evals_to_optimum",
                   "search_seconds_excl_fit", "search_seconds_per_eval"}
#: Censored measures and the flag that says whether a run got there.
CENSORED = {"evals_to_threshold": "reached_threshold", "evals_to_optimum": "reached_optimum"}
#: Wall-clock measures: they differ between two runs of the same grid, all others must not.
TIMING_MEASURES: tuple[str, ...] = ("fit_seconds", "fit_seconds_total", "search_seconds_excl_fit",
                                    "search_seconds_per_eval")
#: Bookkeeping columns: never a key, never a measure.
BOOKKEEPING: tuple[str, ...] = ("seed", "kind", "cell_id", "spec", "version", "best_index", "index", "config",
                                "source_file", "threshold", "optimum_metric", "optimum_test", "optimum_ties", "dirty", "predictor_kwargs",
                                "search_kwargs") + PROVENANCE_COLUMNS
STAT_COLUMNS: tuple[str, ...] = (
    "measure", "statistic", "runs", "n",
    "median", "median_boot95_low", "median_boot95_high",
    "iqm", "iqm_boot95_low", "iqm_boot95_high",
    "mean", "std", "mean_t95_low", "mean_t95_high",
    "reached", "rate", "rate_wilson95_low", "rate_wilson95_high",
    "km_median",
)
CELL_COLUMNS: tuple[str, ...] = ("cells_asked", "cells_finished", "cells_failed", "cells_missing", "cells_unreadable",
                                 "cells_nonfinite", "cells_stale", "stopped_early")


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == "")


def sortable(col: pd.Series) -> pd.Series:
    """Numbers sort as numbers (n_train 50 < 900), anything else as text."""
    num = pd.to_numeric(col, errors="coerce")
    return num if num.notna().sum() == col.replace("", np.nan).notna().sum() else col.astype(str)


def keys_of(df: pd.DataFrame, known: Iterable[str], measures: Iterable[str] = ()) -> list[str]:
    """The known keys present, then any other text column (a space, a protocol name) that is neither a
    measure nor bookkeeping: rows that differ in it are different configurations."""
    known = [k for k in known if k in df.columns]
    skip = set(known) | set(measures) | set(BOOKKEEPING)
    extra = [c for c in df.columns if c not in skip and not pd.api.types.is_numeric_dtype(df[c])
             and not pd.api.types.is_bool_dtype(df[c]) and not set(df[c].dropna().map(type)) <= {bool}]
    return known + extra


def keyed(df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """A copy whose key columns have "" for a missing value: "no loss" is its own group, not a dropped row."""
    out = df.copy()
    for k in keys:
        out[k] = out[k].map(lambda v: "" if blank(v) else v)
    return out


def measures_of(df: pd.DataFrame, keys: Iterable[str], preferred: Iterable[str]) -> list[str]:
    """The known measures present, then any other numeric column that is neither key nor bookkeeping."""
    keys = set(keys)
    present = [m for m in preferred if m in df.columns]
    others = [c for c in df.columns if c not in keys and c not in present and c not in BOOKKEEPING
              and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
                   or (len(df[c].dropna()) and set(df[c].dropna().map(type)) <= {bool}))]
    return present + others


def _flags(values: pd.Series) -> np.ndarray:
    """A 0/1 column read as booleans ("True"/"False" text from a CSV included); NaN stays NaN."""
    def one(v: Any) -> float:
        if isinstance(v, str):
            return {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}.get(v.strip().lower(), math.nan)
        try:
            return math.nan if blank(v) else float(bool(v))
        except (TypeError, ValueError):
            return math.nan
    return np.array([one(v) for v in values], dtype=float)


def is_rate(part: pd.DataFrame, measure: str) -> bool:
    col = part[measure]
    if pd.api.types.is_bool_dtype(col) or measure.startswith("reached_"):
        return True
    vals = col.dropna()
    return len(vals) > 0 and set(vals.map(type)) <= {bool}


def describe(part: pd.DataFrame, measure: str) -> dict[str, Any]:
    """The statistics of one measure over the rows (seeds) of one configuration."""
    out: dict[str, Any] = {"measure": measure, "runs": len(part)}
    if measure in CENSORED and CENSORED[measure] in part.columns:
        reached = _flags(part[CENSORED[measure]]) == 1
        t = pd.to_numeric(part[measure], errors="coerce").to_numpy(dtype=float)
        # a run that never got there is censored at the evaluations it made (its budget if unknown)
        made = next((pd.to_numeric(part[c], errors="coerce").to_numpy(dtype=float) for c in ("evals", "budget")
                     if c in part.columns), np.full(len(part), np.nan))
        times = np.where(reached, t, made)
        median, k, n = stats.km_median(times, reached & np.isfinite(t))
        return {**out, "statistic": "censored", "n": n, "reached": k, "km_median": median}
    if is_rate(part, measure):
        flags = _flags(part[measure])
        flags = flags[np.isfinite(flags)]
        k, n = int(flags.sum()), len(flags)
        rate, lo, hi = stats.wilson_ci(k, n)
        return {**out, "statistic": "rate", "n": n, "reached": k, "rate": rate, "rate_wilson95_low": lo,
                "rate_wilson95_high": hi}
    values = pd.to_numeric(part[measure], errors="coerce").to_numpy(dtype=float)
    n, med, mlo, mhi = stats.median_ci(values)
    _, iqm, ilo, ihi = stats.iqm_ci(values)
    _, mean, std, tlo, thi = stats.mean_t_ci(values)
    return {**out, "statistic": "value", "n": n, "median": med, "median_boot95_low": mlo, "median_boot95_high": mhi,
            "iqm": iqm, "iqm_boot95_low": ilo, "iqm_boot95_high": ihi, "mean": mean, "std": std,
            "mean_t95_low": tlo, "mean_t95_high": thi}


def groups(df: pd.DataFrame, keys: list[str]) -> Iterable[tuple[dict[str, Any], pd.DataFrame]]:
    for group, part in df.groupby(keys, sort=False, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        yield dict(zip(keys, group)), part


def cell_counts(part: pd.DataFrame, counts: pd.DataFrame | None) -> dict[str, Any]:
    """Cells asked/finished/failed/... of the cell configurations behind these rows; rows read from a
    CSV have no cell record: finished is the number of seeds, the rest unknown (NaN)."""
    out = {c: math.nan for c in CELL_COLUMNS}
    configs = set(part["config"].dropna()) if "config" in part.columns else set()
    if counts is not None and configs:
        chosen = counts[counts["config"].isin(configs)]
        for c in ("asked", "finished", "failed", "missing", "unreadable", "nonfinite", "stale"):
            out[f"cells_{c}"] = chosen[c].sum(min_count=1)
    else:  # rows read from a CSV: no record says what was asked, failed or lost
        out["cells_finished"] = part["seed"].nunique() if "seed" in part.columns else len(part)
        headline = next((m for m in HEADLINE.values() if m in part.columns), None)
        if headline is not None:
            out["cells_nonfinite"] = int((~np.isfinite(pd.to_numeric(part[headline], errors="coerce"))).sum())
    if {"evals", "budget"} <= set(part.columns):
        evals = pd.to_numeric(part["evals"], errors="coerce")
        budget = pd.to_numeric(part["budget"], errors="coerce")
        out["stopped_early"] = int((evals < budget).sum())
    return out


def summarize(df: pd.DataFrame, keys: Iterable[str], measures: Iterable[str] | None = None,
              counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per configuration x measure (long format): keys, STAT_COLUMNS and CELL_COLUMNS."""
    keys = list(keys)
    columns = keys + list(STAT_COLUMNS) + list(CELL_COLUMNS)
    if df.empty:
        return pd.DataFrame(columns=columns)
    df = keyed(df, keys)
    measures = list(measures) if measures is not None else measures_of(df, keys, ())
    out = []
    for group, part in groups(df, keys):
        cells = cell_counts(part, counts)
        for m in measures:
            if m in part.columns:
                out.append({**group, **describe(part, m), **cells})
    result = pd.DataFrame(out, columns=columns)
    order = {m: i for i, m in enumerate(measures)}
    result["_m"] = result["measure"].map(order)
    result = result.sort_values(keys + ["_m"], key=lambda c: c if c.name == "_m" else sortable(c), kind="stable")
    return result.drop(columns="_m").reset_index(drop=True)


def board_keys(df: pd.DataFrame, kind: str) -> list[str]:
    known, preferred = (EVAL_KEYS, EVAL_MEASURES) if kind == "eval" else (SEARCH_KEYS, SEARCH_MEASURES)
    return keys_of(df, known, preferred)


def leaderboards(tables: dict[str, pd.DataFrame], counts: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """{"eval": ..., "search": ...} leaderboards of the tidy rows `tables`."""
    out = {}
    for kind, preferred in (("eval", EVAL_MEASURES), ("search", SEARCH_MEASURES)):
        df = tables[kind]
        keys = board_keys(df, kind)
        out[kind] = summarize(df, keys, measures_of(df, keys, preferred) if not df.empty else [], counts)
    return out


# --- methods, paired comparisons, ranks ------------------------------------------------------------

def compared_measures(df: pd.DataFrame, kind: str) -> list[str]:
    """The measures paired tests and ranks are computed for: the headline first, then (searches) the
    evaluations to the optimum and to the threshold, where the rows have them."""
    out = [HEADLINE[kind]]
    if kind == "search":
        out += [m for m in ("evals_to_optimum", "evals_to_threshold") if m in df.columns]
    return out


def method_label(row: dict[str, Any], kind: str) -> str:
    """A method's short name: the predictor (its loss where the name does not say it), for a search
    also the strategy and a non-default mode, and the plugin settings where there are any."""
    predictor = str(row.get("predictor") or "none")
    parts = [predictor]
    loss = row.get("loss")
    if not blank(loss) and str(loss) not in predictor:
        parts[0] += f"[{loss}]"
    if kind == "search":
        parts.append(str(row.get("search")))
        mode = row.get("mode")
        if not blank(mode) and str(mode) not in ("none", "pretrained"):
            parts.append(str(mode))
    label = "+".join(parts)
    if row.get("isolation") == "in-process":  # its plugins could reach the table: see the threat model
        label += " [in-process]"
    v = row.get("variant")
    return label + (f" {v}" if not blank(v) else "")


def _task_and_method(df: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, list[str]]:
    keys = board_keys(df, kind)
    df = keyed(df, keys)
    task_keys = [k for k in keys if k not in METHOD_KEYS[kind]]
    df = df.assign(method=[method_label(r, kind) for r in df.to_dict("records")])
    return df, task_keys


def _seed_values(part: pd.DataFrame, measure: str) -> dict[int, float]:
    """{seed: value} of one configuration (the first row of a seed; rows without a seed left out)."""
    out: dict[int, float] = {}
    seeds = pd.to_numeric(part["seed"], errors="coerce")
    for seed, value in zip(seeds, pd.to_numeric(part[measure], errors="coerce")):
        if np.isfinite(seed):
            out.setdefault(int(seed), float(value))
    return out


def _censor_point(row: dict[str, Any]) -> float:
    """Evaluations a run made (where a run that never got there is censored): its `evals`, else its budget."""
    for column in ("evals", "budget"):
        try:
            v = float(row.get(column))
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            return v
    return math.nan


def _censored_seed_values(part: pd.DataFrame, measure: str) -> dict[int, tuple[float, bool]]:
    """{seed: (time, reached)} of one configuration for a censored measure (see `stats.paired_censored`)."""
    out: dict[int, tuple[float, bool]] = {}
    flag = CENSORED[measure]
    reached = _flags(part[flag]) if flag in part.columns else np.full(len(part), np.nan)
    for row, got in zip(part.to_dict("records"), reached):
        try:
            seed = float(row.get("seed"))
        except (TypeError, ValueError):
            continue
        if not np.isfinite(seed) or int(seed) in out:
            continue
        value = pd.to_numeric(pd.Series([row.get(measure)]), errors="coerce").iloc[0]
        if got == 1 or (np.isnan(got) and np.isfinite(value)):
            out[int(seed)] = (float(value), True)
        elif got == 0 or np.isnan(value):
            out[int(seed)] = (_censor_point(row), False)
    return out


def _km_median(part: pd.DataFrame, measure: str) -> float:
    """Kaplan-Meier median of a censored measure for one configuration on one task; inf when fewer than
    half its runs got there (it ranks behind every configuration that has a median)."""
    values = _censored_seed_values(part, measure)
    if not values:
        return math.nan
    times, reached = zip(*values.values())
    median, _, _ = stats.km_median(times, reached)
    return median if math.isfinite(median) else math.inf


def _matches(name: str, row: dict[str, Any], method: str) -> bool:
    return name in (method, str(row.get("predictor")), str(row.get("search")))


def paired_table(df: pd.DataFrame, kind: str, baseline: str, measure: str | None = None) -> pd.DataFrame:
    """Every method against `baseline` on each task, over the seeds both ran: n_pairs, wins, ties,
    losses, win_rate, median_diff (method - baseline, in the measure's unit) and the Wilcoxon
    signed-rank p-value (two-sided, uncorrected for the number of comparisons). A censored measure
    (evaluations to a goal) counts runs that never got there as later than any that did, by
    `stats.paired_censored`, and adds censored_pairs and indeterminate.

    `baseline` names a method, a predictor or a search strategy; a name that matches two methods of
    one task is an error."""
    measure = measure or HEADLINE[kind]
    if df.empty or measure not in df.columns or "seed" not in df.columns:
        return pd.DataFrame()
    df, task_keys = _task_and_method(df, kind)
    rows = []
    for task, part in (groups(df, task_keys) if task_keys else [({}, df)]):
        methods = {m: p for m, p in part.groupby("method", sort=True)}
        base = [m for m, p in methods.items() if _matches(baseline, p.iloc[0].to_dict(), m)]
        if len(base) > 1:
            raise UserError(f"baseline {baseline!r} matches {len(base)} methods ({', '.join(base)}); name one of them")
        if not base:
            continue
        censored = measure in CENSORED
        values = _censored_seed_values if censored else _seed_values
        reference = values(methods[base[0]], measure)
        for method, p in methods.items():
            if method == base[0]:
                continue
            if censored:
                result = stats.paired_censored(reference, values(p, measure))
            else:
                result = stats.paired(reference, values(p, measure), measure not in LOWER_IS_BETTER)
            rows.append({**task, "method": method, "baseline": base[0], "measure": measure, **result})
    return pd.DataFrame(rows)


def rank_table(df: pd.DataFrame, kind: str, measure: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Average rank of each method across tasks (rank 1 best) by its median `measure` (the Kaplan-Meier
    median for evaluations to a goal, where fewer than half the runs getting there ranks last); only
    methods that ran on every task take part. Returns the ranks (method, average_rank, n_tasks) and
    {"tasks", "methods", "friedman_p", "cd", "dropped"} (cd: Nemenyi critical difference, alpha 0.05)."""
    measure = measure or HEADLINE[kind]
    empty = pd.DataFrame(columns=["method", "average_rank", "n_tasks"])
    if df.empty or measure not in df.columns:
        return empty, {}
    df, task_keys = _task_and_method(df, kind)
    if not task_keys:
        return empty, {}
    if measure in CENSORED:  # Kaplan-Meier medians; never getting there ranks last (inf)
        medians = (df.groupby(task_keys + ["method"], dropna=False)
                   .apply(lambda p: _km_median(p, measure), include_groups=False).unstack("method"))
    else:
        medians = (df.assign(_v=pd.to_numeric(df[measure], errors="coerce"))
                   .groupby(task_keys + ["method"], dropna=False)["_v"].median().unstack("method"))
    complete = [m for m in medians.columns if medians[m].notna().all()]
    dropped = [m for m in medians.columns if m not in complete]
    scores = medians[complete].to_numpy(dtype=float)
    if len(complete) < 2 or scores.shape[0] < 2:
        return empty, {"tasks": scores.shape[0], "methods": len(complete), "dropped": dropped}
    ranks = stats.average_ranks(scores, measure not in LOWER_IS_BETTER)
    table = pd.DataFrame({"method": complete, "average_rank": ranks, "n_tasks": scores.shape[0]})
    table = table.sort_values(["average_rank", "method"]).reset_index(drop=True)
    info = {"tasks": scores.shape[0], "methods": len(complete), "measure": measure,
            "friedman_p": stats.friedman_p(scores), "cd": stats.critical_difference(len(complete), scores.shape[0]),
            "dropped": dropped}
    return table, info
