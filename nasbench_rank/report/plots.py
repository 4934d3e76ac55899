"""Leaderboard plots. Conventions: values in the units of the space's metric (NB201 accuracy in %,
NAS-Bench-Graph performance as a fraction, FCNet validation MSE on a log axis; `units`); one colour
per configuration, the same in every panel of a figure; legends name the configuration in at most 40
characters (`legends`), what the lines and bands are is said in a caption under the figure; bands
show what the seeds reached (quantiles of the runs, or percentile-bootstrap intervals, never a
symmetric ± that leaves the data's range); the optimum is drawn as a line; scatter plots draw y = x.
Panels wrap into rows of at most three; a saved figure is at most 1600 px wide and 4:1."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..atomic import write_with
from . import stats
from .legends import fit, labels_of
from .tables import CENSORED, METHOD_KEYS, blank, keyed
from .units import Scale, report_scale, scale_of

__all__ = ["labels_of", "plot_cd", "plot_kendall_vs_ntrain", "plot_reached", "plot_scatter", "plot_traces", "save"]

TRACE_EVAL, TRACE_BEST = "eval", "best_test"  # the trace columns plotted: evaluation number, best-so-far report metric
DPI = 110
MAX_WIDTH_PX = 1600
MAX_ASPECT = 4.0
MAX_COLUMNS = 3


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> None:
    """Write `fig` as a PNG cropped to what it draws, at most MAX_WIDTH_PX wide (a wider figure is
    written at a lower resolution) and at most MAX_ASPECT:1 either way (padded with white)."""
    from matplotlib.transforms import Bbox

    plt = _plt()
    fig.draw_without_rendering()
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    (x0, y0), (x1, y1) = box.get_points()
    aspect = MAX_ASPECT - 0.05  # pixel rounding stays inside the limit
    if (x1 - x0) / (y1 - y0) > aspect:
        pad = ((x1 - x0) / aspect - (y1 - y0)) / 2
        y0, y1 = y0 - pad, y1 + pad
    elif (y1 - y0) / (x1 - x0) > aspect:
        pad = ((y1 - y0) / aspect - (x1 - x0)) / 2
        x0, x1 = x0 - pad, x1 + pad
    box = Bbox.from_extents(x0, y0, x1, y1)
    dpi = min(DPI, (MAX_WIDTH_PX - 2) / box.width)
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches=box, format="png"))
    plt.close(fig)


def colours(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per label, fixed by the sorted order of all labels of a figure."""
    plt = _plt()
    labels = sorted(set(labels))
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def panels(n: int, width: float, height: float):
    """(fig, axes): `n` panels of `width` x `height` inches, at most MAX_COLUMNS to a row; the spare
    axes of the last row hidden."""
    columns = max(1, min(n, MAX_COLUMNS))
    rows = max(1, math.ceil(n / columns))
    fig, axes = _plt().subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def facets(df: pd.DataFrame, column: str) -> pd.Series:
    """The panel of each row: its `column` value, prefixed by its space where rows of several spaces meet."""
    values = df[column].astype(str)
    if "space" in df.columns and df["space"].astype(str).replace("", "nb201").nunique() > 1:
        return df["space"].astype(str).replace("", "nb201") + " " + values
    return values


def _line_keys(df: pd.DataFrame, keys: list[str], facet: str, kind: str) -> list[str]:
    """The keys that tell lines apart: not the facet, and not a task field that is the same within
    every panel (a target's space, checksum or pool description follows from the panel)."""
    out = []
    for k in keys:
        if k == facet or k not in df.columns:
            continue
        if k not in METHOD_KEYS[kind] and df.groupby("panel")[k].agg(lambda c: c.astype(str).nunique()).max() <= 1:
            continue
        out.append(k)
    return out


def _lines(df: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """`df` with a `line` column naming each configuration (over `keys`)."""
    df = keyed(df, keys)
    if not keys:  # one configuration
        name = str(df["predictor"].iloc[0]) if "predictor" in df.columns else "-"
        return df.assign(line=name), [name]
    combos = df[keys].drop_duplicates().to_dict("records")
    names = labels_of(combos)
    lookup = {tuple(str(c[k]) for k in keys): n for c, n in zip(combos, names)}
    df = df.assign(line=[lookup[tuple(str(r[k]) for k in keys)] for r in df[keys].to_dict("records")])
    return df, sorted(set(names))


def _panel_figure(df: pd.DataFrame, keys: list[str], facet: str, kind: str, width: float, height: float):
    """(df with `panel` and `line` columns, colour per line, legend text per line, footnotes, panel
    names, fig, axes): one panel per `facet` value, the lines named by the keys that tell them apart."""
    df = df.assign(panel=facets(df, facet))
    df, names = _lines(df, _line_keys(df, keys, facet, kind))
    texts, notes = fit(names)
    names_of_panels = sorted(df["panel"].unique())
    fig, axes = panels(len(names_of_panels), width, height)
    return df, colours(names), texts, notes, names_of_panels, fig, axes


def finish(fig, axes, caption: str = "", notes: Iterable[str] = ()) -> None:
    """Lay the panels out, draw one legend under them (a configuration has the same colour in every
    panel) and the caption and footnotes under the legend, wrapped to the figure's width."""
    fig.tight_layout()
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    width_pt = fig.get_figwidth() * 72
    legend = None
    if handles:
        entry_pt = max(len(label) for label in handles) * 8 * 0.6 + 40
        ncol = int(max(1, min(len(handles), 4, width_pt // entry_pt)))
        legend = fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                            ncol=ncol, fontsize=8, frameon=False)
    lines = [caption] + list(notes) if caption else list(notes)
    if not lines:
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    if legend is not None:
        bottom = legend.get_window_extent(renderer).y0 / fig.bbox.height
    else:
        bottom = min(ax.get_tightbbox(renderer).y0 for ax in axes) / fig.bbox.height
    chars = max(40, int(width_pt / (8 * 0.55)))
    text = "\n".join(textwrap.fill(line, chars) for line in lines)
    fig.text(0.5, bottom - 0.02, text, ha="center", va="top", fontsize=8)


def _panel_scale(rows: pd.DataFrame, panel: str, fallback: pd.DataFrame) -> Scale:
    """The report metric's scale of a panel's search rows (else of its trace rows)."""
    for frame in (rows, fallback):
        if not frame.empty and "panel" in frame.columns:
            part = frame[frame["panel"] == panel]
            if len(part):
                return report_scale(part.iloc[0].to_dict())
    return scale_of(None, None)


def _limits(ax, lows: list[float], highs: list[float], optimum: float | None, scale: Scale) -> None:
    """y limits that show where the runs ended up (the first tenth of a run left out on its far side)
    and the optimum, with room above (below, for a metric where lower is better) for the optimum line."""
    if not lows:
        return
    if scale.log:
        ax.set_yscale("log")
        return
    if scale.direction == "max":
        bottom, top = min(lows), max(highs + ([optimum] if optimum is not None else []))
        if scale.percent:
            ax.set_ylim(max(0.0, bottom - 0.5), min(100.0, top + 0.15 * max(top - bottom, 0.5)))
        else:
            span = max(top - bottom, 1e-12)
            ax.set_ylim(bottom - 0.05 * span, top + 0.15 * span)
    else:
        top, bottom = max(highs), min(lows + ([optimum] if optimum is not None else []))
        span = max(top - bottom, 1e-12)
        ax.set_ylim(bottom - 0.15 * span, top + 0.05 * span)


def plot_traces(trace: pd.DataFrame, rows: pd.DataFrame, keys: list[str], path: Path) -> bool:
    """Best-so-far value of the report metric (test where the space has one) of the incumbent against
    evaluations: median over seeds and the band of the middle half of the seeds (25th to 75th
    percentile); the optimum's value as a dashed line; a panel per dataset."""
    if trace.empty or not {TRACE_EVAL, TRACE_BEST, "dataset", "cell_id"} <= set(trace.columns):
        return False
    if "space" not in trace.columns and {"space", "cell_id"} <= set(rows.columns):  # a CSV's trace
        trace = trace.merge(rows[["cell_id", "space"]].drop_duplicates("cell_id"), on="cell_id", how="left")
    trace, colour, text, notes, names, fig, axes = _panel_figure(trace, keys, "dataset", "search", 4.6, 3.6)
    if not rows.empty and "dataset" in rows.columns:
        rows = rows.assign(panel=facets(rows, "dataset"))
    for ax, panel in zip(axes, names):
        part = trace[trace["panel"] == panel]
        scale = _panel_scale(rows, panel, part)
        lows, highs = [], []
        for name, line in part.groupby("line", sort=True):
            wide = line.pivot_table(index=TRACE_EVAL, columns="cell_id", values=TRACE_BEST).sort_index()
            values = wide.to_numpy(dtype=float)  # NaN after a run's last evaluation: it made no more
            with np.errstate(all="ignore"):
                median = np.nanmedian(values, axis=1)
                lo, hi = np.nanpercentile(values, 25, axis=1), np.nanpercentile(values, 75, axis=1)
            x = wide.index.to_numpy()
            ax.plot(x, median, color=colour[name], lw=1.4, label=text[name])
            if scale.percent:
                lo, hi = np.clip(lo, 0, 100), np.clip(hi, 0, 100)
            ax.fill_between(x, lo, hi, color=colour[name], alpha=0.18, lw=0)
            late = x >= 0.1 * x.max()
            if scale.direction == "max":
                lows.append(np.nanmin(lo[late]))
                highs.append(np.nanmax(hi))
            else:
                lows.append(np.nanmin(lo))
                highs.append(np.nanmax(hi[late]))
        optimum = _optimum(rows, panel)
        if optimum is not None:
            ax.axhline(optimum, color="black", ls="--", lw=1, label="optimum")
            ax.annotate(f"optimum {scale.value(optimum)}{'%' if scale.percent else ''}", (0.02, optimum),
                        xycoords=("axes fraction", "data"), fontsize=7, va="bottom" if scale.direction == "max" else "top")
        _limits(ax, lows, highs, optimum, scale)
        ax.set_title(panel)
        ax.set_xlabel("evaluations")
        ax.set_ylabel(f"best-so-far {scale.label}")
        ax.grid(alpha=0.3)
    finish(fig, axes, "Lines: median over seeds of the incumbent's value; bands: 25th-75th percentile of the seeds; "
                      "dashed: the value of the optimum by the search metric.", notes)
    save(fig, path)
    return True


def _optimum(rows: pd.DataFrame, panel: str) -> float | None:
    if rows.empty or "optimum_test" not in rows.columns or "panel" not in rows.columns:
        return None
    part = rows[rows["panel"] == panel]
    values = pd.to_numeric(part["optimum_test"], errors="coerce").dropna()
    if not len(values):
        return None
    return float(values.min()) if report_scale(part.iloc[0].to_dict()).direction == "min" else float(values.max())


def plot_reached(rows: pd.DataFrame, keys: list[str], path: Path, measure: str = "evals_to_optimum") -> bool:
    """Share of runs (%) that reached the optimum within e evaluations: one minus the Kaplan-Meier
    survival curve (runs that stopped short are censored where they stopped); a panel per dataset."""
    flag = CENSORED[measure]
    if rows.empty or not {measure, flag, "dataset"} <= set(rows.columns):
        return False
    rows, colour, text, notes, names, fig, axes = _panel_figure(rows, keys, "dataset", "search", 4.6, 3.4)
    for ax, panel in zip(axes, names):
        part = rows[rows["panel"] == panel]
        for name, line in part.groupby("line", sort=True):
            reached = line[flag].astype(str).str.lower().isin(["true", "1", "1.0"]).to_numpy()
            t = pd.to_numeric(line[measure], errors="coerce").to_numpy(dtype=float)
            stop = pd.to_numeric(line["evals"] if "evals" in line else line["budget"], errors="coerce").to_numpy(dtype=float)
            times = np.where(reached, t, stop)
            ok = np.isfinite(times)
            times, reached = times[ok], reached[ok] & np.isfinite(t[ok])
            end = float(np.nanmax(stop)) if np.isfinite(stop).any() else float(times.max(initial=1))
            if reached.any():
                sf = sps.ecdf(sps.CensoredData(uncensored=times[reached], right=times[~reached])).sf
                x = np.concatenate([[0.0], sf.quantiles, [end]])
                y = 100.0 * (1.0 - np.concatenate([[1.0], sf.probabilities, [sf.probabilities[-1]]]))
            else:
                x, y = np.array([0.0, end]), np.zeros(2)
            ax.step(x, y, where="post", color=colour[name], lw=1.4, label=text[name])
        ax.axhline(100.0, color="black", ls="--", lw=1, label="every run")
        ax.set_ylim(-2, 102)
        ax.set_title(panel)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("runs that reached the optimum (%)")
        ax.grid(alpha=0.3)
    finish(fig, axes, "Share of the runs whose incumbent is the optimum after e evaluations: one minus the "
                      "Kaplan-Meier survival curve, a run that stopped short censored where it stopped.", notes)
    save(fig, path)
    return True


def plot_kendall_vs_ntrain(rows: pd.DataFrame, keys: list[str], path: Path) -> bool:
    """Kendall tau against training-set size: median over seeds with its 95% percentile-bootstrap
    interval (inside [-1, 1] by construction); a panel per target (and per named protocol, where rows
    name several: their sizes and scored sets differ), one colour per configuration."""
    if rows.empty or not {"kendall", "n_train", "target"} <= set(rows.columns):
        return False
    # n_test follows n_train where the test set is "the rest of the pool": not a line of its own
    line_keys = [k for k in keys if k not in ("n_train", "transfer", "n_test")]
    facet = "target"
    if "protocol" in rows.columns and rows["protocol"].map(lambda v: "" if blank(v) else str(v)).nunique() > 1:
        named = rows["protocol"].map(lambda v: "none" if blank(v) else str(v))
        rows = rows.assign(target_protocol=rows["target"].astype(str) + ", protocol " + named)
        facet = "target_protocol"
    rows, colour, text, notes, targets, fig, axes = _panel_figure(rows, line_keys, facet, "eval", 4.4, 3.4)
    rows = rows.assign(n_train=pd.to_numeric(rows["n_train"], errors="coerce"))
    for ax, target in zip(axes, targets):
        part = rows[rows["panel"] == target]
        sizes = sorted(part["n_train"].dropna().unique())
        for name, line in part.groupby("line", sort=True):
            points = []
            for n_train, at in line.groupby("n_train", sort=True):
                _, med, lo, hi = stats.median_ci(at["kendall"])
                points.append((n_train, med, lo if np.isfinite(lo) else med, hi if np.isfinite(hi) else med))
            x, med, lo, hi = (np.array(v, dtype=float) for v in zip(*points))
            ax.errorbar(x, med, yerr=np.vstack([med - lo, hi - med]), marker="o", capsize=3, color=colour[name],
                        label=text[name])
        if len(sizes) > 1:
            ax.set_xscale("log")
        ax.set_xticks(sizes, [str(int(n)) for n in sizes])
        ax.minorticks_off()
        ax.set_title(f"target {target}")
        ax.set_xlabel("training cells (n_train)")
        ax.set_ylabel("Kendall tau")
        ax.grid(alpha=0.3)
    finish(fig, axes, "Points: median Kendall tau over seeds; bars: its 95% percentile-bootstrap interval.", notes)
    save(fig, path)
    return True


def scatter_values(points: pd.DataFrame, scale: Scale, in_metric_units: bool) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) of a predictions CSV in the units the predictor regressed, as printed: its
    utilities (a percentage x100; FCNet -log MSE). `in_metric_units`: `true` holds the metric's values
    (a space's CSV), else utilities already (NAS-Bench-201's, as fractions)."""
    true = points["true"].to_numpy(float)
    if in_metric_units:
        true = true / scale.utility_factor
        if scale.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                true = np.log(true)
        true = true if scale.direction == "max" else -true
    return true * scale.utility_factor, points["predicted"].to_numpy(float) * scale.utility_factor


def plot_scatter(points: pd.DataFrame, title: str, path: Path, scale: Scale | None = None,
                 in_metric_units: bool = False) -> bool:
    """Predicted against true value of held-out cells, in the units the predictor regressed (NB201:
    accuracy in %; FCNet: -log MSE), with y = x; a panel per target."""
    if points.empty or not {"true", "predicted", "target"} <= set(points.columns):
        return False
    scale = scale or scale_of(None, None)
    unit = scale.label if scale.percent or (not scale.log and scale.direction == "max") else scale.utility_unit
    targets = sorted(points["target"].astype(str).unique())
    fig, axes = panels(len(targets), 4.3, 4.0)
    for ax, target in zip(axes, targets):
        part = points[points["target"].astype(str) == target]
        true, pred = scatter_values(part, scale, in_metric_units)
        ok = np.isfinite(true) & np.isfinite(pred)
        tau = sps.kendalltau(true[ok], pred[ok]).statistic
        ax.scatter(true, pred, s=6, alpha=0.5, color="tab:blue", label="held-out cell")
        lo, hi = float(np.nanmin([true[ok].min(), pred[ok].min()])), float(np.nanmax([true[ok].max(), pred[ok].max()]))
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--", label="y = x")
        ax.set_title(f"{target} (Kendall {tau:.3f}, {len(part)} cells)", fontsize=10)
        ax.set_xlabel(f"true {unit}")
        ax.set_ylabel(f"predicted {unit}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(textwrap.fill(fit([title], 100)[0][title], 90), fontsize=10)
    fig.tight_layout()
    save(fig, path)
    return True


def plot_cd(ranks: pd.DataFrame, info: dict[str, Any], title: str, path: Path) -> bool:
    """Critical-difference diagram: average ranks on one axis (1 = best); methods whose average ranks
    differ by less than the Nemenyi critical difference are joined by a bar."""
    if ranks.empty or not np.isfinite(info.get("cd", np.nan)):
        return False
    plt = _plt()
    k = len(ranks)
    r = ranks["average_rank"].to_numpy(float)
    text, notes = fit(ranks["method"].tolist())
    names = [text[m] for m in ranks["method"]]
    cd = info["cd"]
    fig, ax = plt.subplots(figsize=(6.5, 1.8 + 0.3 * ((k + 1) // 2)))
    ax.set_xlim(0.5, k + 0.5)
    ax.invert_xaxis()  # best (rank 1) on the right
    ax.set_ylim(-((k + 1) // 2 + 1) * 0.9 - 0.3, 2.2)
    ax.axhline(0, color="black", lw=1)
    for t in range(1, k + 1):
        ax.plot([t, t], [0, 0.2], color="black", lw=1)
        ax.text(t, 0.35, str(t), ha="center", fontsize=8)
    ax.plot([1, 1 + cd], [1.4, 1.4], color="black", lw=2)
    ax.text(1 + cd / 2, 1.6, f"CD = {cd:.2f}", ha="center", fontsize=8)
    half = (k + 1) // 2
    for i, (rank, name) in enumerate(zip(r, names)):
        y = -(i % half + 1) * 0.9 - 0.3
        right = i < half  # the better half labelled on the right
        end = 0.5 if right else k + 0.5
        ax.plot([rank, rank, end], [0, y, y], color="tab:blue", lw=1)
        ax.text(end, y, f" {name} ({rank:.2f}) ", ha="left" if right else "right", va="center", fontsize=8)
    bars: list[tuple[int, int]] = []
    for i in range(k):  # maximal groups of methods within cd of each other
        j = max(jj for jj in range(i, k) if r[jj] - r[i] < cd)
        if j > i and (not bars or j > bars[-1][1]):
            bars.append((i, j))
    for b, (i, j) in enumerate(bars):
        ax.plot([r[i] - 0.03, r[j] + 0.03], [-0.25 - 0.18 * b] * 2, color="tab:red", lw=3)
    ax.axis("off")
    p = info.get("friedman_p", np.nan)
    friedman = f"Friedman p = {p:.3g}; " if np.isfinite(p) else ""
    ax.set_title(f"{title}\naverage ranks over {info['tasks']} tasks ({friedman}bars: Nemenyi, alpha 0.05)", fontsize=9)
    if notes:
        finish(fig, [ax], "", notes)
    save(fig, path)
    return True
