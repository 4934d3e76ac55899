"""The search scoreboard: strategies compared on the field's protocol (regret of the returned cell).

Reads the search rows and traces of a results folder (their regret columns, see `loop.regret` and
`docs/concepts/search-protocol.md`) and writes:

- `scoreboard.md` and `scoreboard.csv`: per task (space, dataset, label protocol) and method, at 25 /
  50 / 100 / 200 evaluations (those the runs reached): the median and the IQM of the simple regret with
  95% percentile-bootstrap intervals over seeds, and a paired two-sided Wilcoxon test over shared
  seeds against the method with the lowest median at that mark; the Kaplan-Meier median of the
  evaluations to hit a cell within each eps of the optimum (censored at the run's evaluations), with
  "reached k of n"; published numbers beside ours where a paper states its protocol (`PUBLISHED`);
- `regret_curves_evals.png` / `regret_curves_hours.png`: the median regret over seeds against
  evaluations (GPU-hours), with a 95% bootstrap band of the median, one panel per task;
- `average_rank.png` and `average_rank.csv`: at each evaluation, each method's rank by median regret
  on each dataset (1 = lowest), averaged over the datasets of a label protocol where every method ran.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import write_text, write_with
from . import stats
from .tables import blank, method_label
from .units import Scale, search_scale

#: Evaluation marks of the table.
TABLE_MARKS: tuple[int, ...] = (25, 50, 100, 200)
#: Bootstrap resamples for the bands of the curves (vectorised; the table uses `stats`).
BAND_RESAMPLES = 1000
BAND_SEED = 0
#: Numbers papers published under a protocol they state: dicts of method, space, dataset, measure,
#: value, protocol and source. Only numbers checked in the paper itself go here.
PUBLISHED: list[dict[str, Any]] = []
TASK = ("space", "dataset", "oracle")


def has_regret(rows: pd.DataFrame) -> bool:
    """Whether any row carries a regret value (rows written before regret was recorded have none)."""
    return (not rows.empty and "final_regret" in rows.columns
            and pd.to_numeric(rows["final_regret"], errors="coerce").notna().any())


def _method(row: dict[str, Any]) -> str:
    label = method_label(row, "search")
    refit = row.get("refit_every")
    warm = row.get("warm_every")
    extra = []
    if row.get("predictor") not in (None, "none") and not blank(refit) and int(float(refit)) != 1:
        extra.append(f"refit={int(float(refit))}")
    if not blank(warm) and int(float(warm)) > 0:
        extra.append(f"warm={int(float(warm))}")
    return label + (f" ({', '.join(extra)})" if extra else "")


def tidy(rows: pd.DataFrame, trace: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows and trace with `method` and the task columns filled (old rows without `oracle`: mean)."""
    def fill(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column, default in (("oracle", "mean"), ("space", "nb201")):
            if column not in frame.columns:
                frame[column] = default
            frame[column] = frame[column].astype(object).where(frame[column].notna() & (frame[column] != ""), default)
        return frame

    rows = fill(rows)
    rows["method"] = [_method(r) for r in rows.to_dict("records")]
    trace = fill(trace) if not trace.empty else trace.copy()
    if trace.empty:
        return rows, trace
    if "cell_id" in rows.columns and "cell_id" in trace.columns:
        info = rows[["cell_id", "method", *TASK]].drop_duplicates("cell_id")
        trace = trace.drop(columns=[c for c in ("method", *TASK) if c in trace.columns]).merge(info, on="cell_id")
    else:  # rows of `run` CSVs: each trace row names its own protocol
        trace["method"] = [_method(r) for r in trace.to_dict("records")]
    return rows, trace


def curve_matrix(trace: pd.DataFrame, horizon: int, x: str = "eval", grid: np.ndarray | None = None) -> tuple[np.ndarray, list]:
    """(seeds x points) regret of one method on one task: at evaluations 1..horizon (x="eval"), or at
    the GPU-hour `grid` (x="gpu_hours": the incumbent of the evaluations paid by then). A run keeps
    its last incumbent after it stopped; NaN before its first full-fidelity result."""
    mats, seeds = [], []
    for seed, part in trace.groupby("seed", sort=True):
        part = part.sort_values("eval")
        regret = pd.to_numeric(part["regret"], errors="coerce").to_numpy(dtype=float)
        if x == "eval":
            ev = part["eval"].to_numpy(dtype=int)
            out = np.full(horizon, np.nan)
            pos = np.searchsorted(ev, np.arange(1, horizon + 1), side="right") - 1
            ok = pos >= 0
            out[ok] = regret[pos[ok]]
        else:
            hours = pd.to_numeric(part["gpu_hours"], errors="coerce").to_numpy(dtype=float)
            pos = np.searchsorted(hours, grid, side="right") - 1
            out = np.where(pos >= 0, regret[np.maximum(pos, 0)], np.nan)
        mats.append(out)
        seeds.append(seed)
    return (np.vstack(mats) if mats else np.zeros((0, horizon if grid is None else len(grid)))), seeds


def median_band(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median over seeds (rows) at each point and its 95% percentile-bootstrap band (NaN-aware)."""
    if mat.shape[0] == 0:
        nan = np.full(mat.shape[1], np.nan)
        return nan, nan, nan
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before any result
        med = np.nanmedian(mat, axis=0)
        rng = np.random.default_rng(BAND_SEED)
        idx = rng.integers(0, mat.shape[0], size=(BAND_RESAMPLES, mat.shape[0]))
        boot = np.nanmedian(mat[idx], axis=1)
        lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    return med, lo, hi


def _horizon(rows: pd.DataFrame) -> int:
    budgets = pd.to_numeric(rows.get("budget"), errors="coerce")
    evals = pd.to_numeric(rows.get("evals"), errors="coerce")
    value = budgets.max() if budgets is not None and budgets.notna().any() else evals.max()
    return int(value) if value == value else 0


def table(rows: pd.DataFrame, marks: tuple[int, ...] = TABLE_MARKS) -> pd.DataFrame:
    """One line per task, method and mark (see the module docstring)."""
    out = []
    eps_cols = sorted(c for c in rows.columns if c.startswith("evals_to_hit_"))
    for task, part in rows.groupby(list(TASK), sort=True):
        for m in marks:
            col = f"regret_at_{m}"
            if col not in part.columns:
                continue
            by_method = {}
            for method, mp in part.groupby("method", sort=True):
                values = pd.to_numeric(mp[col], errors="coerce")
                if values.notna().sum() == 0:
                    continue
                by_method[method] = (mp, dict(zip(mp["seed"].astype(int), values.astype(float))))
            if not by_method:
                continue
            medians = {k: float(np.nanmedian(list(v[1].values()))) for k, v in by_method.items()}
            best = min(medians, key=lambda k: (medians[k], k))
            for method, (mp, seeds) in by_method.items():
                n, med, mlo, mhi = stats.median_ci(seeds.values())
                _, iq, ilo, ihi = stats.iqm_ci(seeds.values())
                line = {**dict(zip(TASK, task)), "method": method, "evals": m, "seeds": n,
                        "median_regret": med, "median_low": mlo, "median_high": mhi,
                        "iqm_regret": iq, "iqm_low": ilo, "iqm_high": ihi, "best": method == best}
                if method != best:
                    p = stats.paired(by_method[best][1], seeds, higher_is_better=False)
                    line.update(vs_best_p=p["wilcoxon_p"], vs_best_pairs=p["n_pairs"], vs_best_win_rate=p["win_rate"])
                for c in eps_cols:
                    times = pd.to_numeric(mp[c], errors="coerce").to_numpy(dtype=float)
                    reached = np.isfinite(times)
                    censor = pd.to_numeric(mp["evals"], errors="coerce").to_numpy(dtype=float)
                    km, k, nn = stats.km_median(np.where(reached, times, censor), reached)
                    line[f"{c}_km_median"] = km
                    line[f"{c}_reached"] = f"{k}/{nn}"
                out.append(line)
    return pd.DataFrame(out)


def average_rank(curves: dict[tuple, dict[str, np.ndarray]]) -> pd.DataFrame:
    """{(space, dataset, oracle): {method: median curve}} -> per (space, oracle), evaluation and
    method: the rank by median regret averaged over the datasets where every method has a value."""
    out = []
    groups: dict[tuple, list] = {}
    for (space, dataset, oracle), by_method in curves.items():
        groups.setdefault((space, oracle), []).append((dataset, by_method))
    for (space, oracle), items in groups.items():
        methods = sorted(set.intersection(*(set(b) for _, b in items)))
        if len(methods) < 2:
            continue
        n = min(len(b[m]) for _, b in items for m in methods)
        for t in range(n):
            scores = np.array([[b[m][t] for m in methods] for _, b in items])
            ok = np.isfinite(scores).all(axis=1)
            if not ok.any():
                continue
            ranks = stats.average_ranks(scores[ok], higher_is_better=False)
            for m, r in zip(methods, ranks):
                out.append({"space": space, "oracle": oracle, "eval": t + 1, "method": m, "average_rank": float(r),
                            "datasets": int(ok.sum())})
    return pd.DataFrame(out)


def _fmt(v: Any, digits: int = 3) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "-" if not math.isfinite(v) else f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


def linear_below(rows: pd.DataFrame) -> float:
    """Where a task's symlog regret axis turns linear: a tenth of its smallest eps (NB201: 0.01 points)."""
    eps = []
    for text in rows.get("regret_eps", pd.Series(dtype=object)).dropna().astype(str):
        for part in text.split(";"):
            try:
                eps.append(float(part))
            except ValueError:
                continue
    eps = [e for e in eps if math.isfinite(e) and e > 0]
    return min(eps) / 10 if eps else 0.01


def regret_text(scale: Scale) -> str:
    """What a regret of this search metric is counted in, said once per task."""
    if scale.percent:
        return f"Regret in points of {scale.name} (%)."
    if scale.log:
        return (f"Regret in natural-log units of {scale.name} (|ln incumbent - ln optimum|; 0.01 is about 1% "
                f"from the optimum).")
    return f"Regret in units of {scale.label}."


def markdown(board: pd.DataFrame, rows: pd.DataFrame, notes: list[str]) -> str:
    lines = ["# Search scoreboard", "",
             "Simple regret of the incumbent (chosen by the search's own observations) against the optimum of the "
             "noise-free mean validation value, in the search metric's units (said per task); definitions in "
             "docs/concepts/search-protocol.md. Median and IQM over seeds with 95% percentile-bootstrap intervals; "
             "p: two-sided Wilcoxon signed-rank test over shared seeds against the row marked best (lowest median); "
             "hit eps: Kaplan-Meier median of the evaluations until a cell within eps of the optimum was evaluated "
             "(runs that never did are censored at their evaluations), with reached k/n.", ""]
    eps_cols = sorted(c for c in board.columns if c.startswith("evals_to_hit_") and c.endswith("_km_median"))
    if board.empty:
        lines += [f"No run reached a mark of the table ({', '.join(map(str, TABLE_MARKS))} evaluations).", ""]
    for task, part in (board.groupby(list(TASK), sort=True) if not board.empty else ()):
        space, dataset, oracle = task
        note = " (the data holds means only: no single-seed labels)" if oracle == "mean" and space == "nbgraph" else ""
        lines += [f"## {space} {dataset}, labels: {'one training seed per query' if oracle == 'seed' else 'mean over seeds'}{note}", ""]
        first = rows[(rows["space"] == space) & (rows["dataset"] == dataset) & (rows["oracle"] == oracle)]
        if len(first):
            lines += [regret_text(search_scale(first.iloc[0].to_dict())), ""]
        last = part["evals"].max()
        for m, mp in part.groupby("evals", sort=True):
            shown = eps_cols if m == last else []  # evaluations to hit do not depend on the mark: shown once
            eps_names = [c[len("evals_to_hit_"):-len("_km_median")] for c in shown]
            lines.append(f"### {m} evaluations")
            lines.append("")
            head = ["method", "seeds", "median regret [95% CI]", "IQM [95% CI]", "p vs best"] + [f"hit {e}" for e in eps_names]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            for r in mp.sort_values(["median_regret", "method"]).to_dict("records"):
                cells = [("**" + r["method"] + "**") if r["best"] else r["method"], str(r["seeds"]),
                         f"{_fmt(r['median_regret'])} [{_fmt(r['median_low'])}, {_fmt(r['median_high'])}]",
                         f"{_fmt(r['iqm_regret'])} [{_fmt(r['iqm_low'])}, {_fmt(r['iqm_high'])}]",
                         "best" if r["best"] else _fmt(r.get("vs_best_p"), 2)]
                for c in shown:
                    km = r.get(c)
                    cells.append(f"{_fmt(km) if km == km else '>'} ({r.get(c.replace('_km_median', '_reached'))})")
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    lines += ["## Published numbers", ""]
    if PUBLISHED:
        lines.append("| method | space | dataset | measure | published | protocol | source |")
        lines.append("|---|---|---|---|---|---|---|")
        for p in PUBLISHED:
            lines.append(f"| {p['method']} | {p['space']} | {p['dataset']} | {p['measure']} | {p['value']} | "
                         f"{p['protocol']} | {p['source']} |")
    else:
        lines.append("None listed: no paper's number was checked against the paper itself for this board.")
    lines.append("")
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def write(rows: pd.DataFrame, trace: pd.DataFrame, out: Path, plots: bool = True) -> list[Path]:
    """Write the scoreboard of these search rows and traces into `out`; return the files written."""
    if not has_regret(rows):
        return []
    rows, trace = tidy(rows, trace)
    written: list[Path] = []
    board = table(rows)
    curves: dict[tuple, dict[str, np.ndarray]] = {}
    bands: dict[tuple, dict[str, tuple]] = {}
    hour_bands: dict[tuple, dict[str, tuple]] = {}
    for task, part in rows.groupby(list(TASK), sort=True):
        horizon = _horizon(part)
        tpart = trace[(trace["space"] == task[0]) & (trace["dataset"] == task[1]) & (trace["oracle"] == task[2])] \
            if not trace.empty and "regret" in trace.columns else pd.DataFrame()
        hours = pd.to_numeric(tpart.get("gpu_hours"), errors="coerce") if not tpart.empty else None
        grid = None
        if hours is not None and hours.notna().any() and hours.max() > 0:
            grid = np.geomspace(max(hours[hours > 0].min(), 1e-3), hours.max(), 60)
        for method, mt in tpart.groupby("method", sort=True):
            mat, _ = curve_matrix(mt, horizon)
            med, lo, hi = median_band(mat)
            curves.setdefault(task, {})[method] = med
            bands.setdefault(task, {})[method] = (np.arange(1, horizon + 1), med, lo, hi)
            if grid is not None:
                hm, _ = curve_matrix(mt, horizon, "gpu_hours", grid)
                hour_bands.setdefault(task, {})[method] = (grid, *median_band(hm))
    ranks = average_rank(curves)
    axis = {task: {"unit": search_scale(part.iloc[0].to_dict()).regret_unit, "linear_below": linear_below(part)}
            for task, part in rows.groupby(list(TASK), sort=True)}
    notes = []
    if (rows["space"] == "nbgraph").any():
        notes.append("NAS-Bench-Graph holds means over seeds only: its rows run on mean labels.")
    for name, frame in (("scoreboard", board), ("average_rank", ranks)):
        if not frame.empty:
            path = out / f"{name}.csv"
            write_with(path, lambda tmp, f=frame: f.to_csv(tmp, index=False))
            written.append(path)
    path = out / "scoreboard.md"
    write_text(path, markdown(board, rows, notes))
    written.insert(0, path)
    if plots:
        from . import regret_plots

        for fn, args, name in ((regret_plots.plot_curves, (bands, "evaluations"), "regret_curves_evals.png"),
                               (regret_plots.plot_curves, (hour_bands, "GPU-hours"), "regret_curves_hours.png"),
                               (regret_plots.plot_ranks, (ranks,), "average_rank.png")):
            if fn(*args, out / name, **({"axis": axis} if fn is regret_plots.plot_curves else {})):
                written.append(out / name)
    return written
