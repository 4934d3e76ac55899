"""Leaderboard plots. Conventions: accuracies in percent; one colour per configuration, the same in
every panel of a figure; legends name the configuration; bands show what the seeds reached (quantiles
of the runs, or percentile-bootstrap intervals, never a symmetric ± that leaves the data's range); the
optimum is drawn as a line; scatter plots draw y = x."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..atomic import write_with
from . import stats
from .tables import CENSORED, blank, keyed

TRACE_EVAL, TRACE_BEST = "eval", "best_test"  # the trace columns plotted: evaluation number, best-so-far test %


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> None:
    plt = _plt()
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    plt.close(fig)


def labels_of(groups: list[dict[str, Any]]) -> list[str]:
    """Legend labels: the fields that differ between the lines, named; plugin settings only where
    needed to tell two lines apart."""
    keys = [k for k in (groups[0] if groups else {}) if len({str(g[k]) for g in groups}) > 1]
    def name(g: dict[str, Any], with_variant: bool) -> str:
        parts = []
        for k in keys:
            if k == "variant" and not with_variant:
                continue
            v = g[k]
            if blank(v) or (str(v) in ("none", "0") and k != "predictor"):
                continue
            parts.append(str(v) if k in ("predictor", "search") else f"{k}={v}")
        return " ".join(parts) or str(g.get("predictor", "-"))
    short = [name(g, False) for g in groups]
    return [s if short.count(s) == 1 else name(g, True) for s, g in zip(short, groups)]


def colours(labels: Iterable[str]) -> dict[str, Any]:
    """One colour per label, fixed by the sorted order of all labels of a figure."""
    plt = _plt()
    labels = sorted(set(labels))
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def _lines(df: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """`df` with a `line` column naming each configuration (over `keys`)."""
    df = keyed(df, keys)
    combos = df[keys].drop_duplicates().to_dict("records")
    names = labels_of(combos)
    lookup = {tuple(str(c[k]) for k in keys): n for c, n in zip(combos, names)}
    df = df.assign(line=[lookup[tuple(str(r[k]) for k in keys)] for r in df[keys].to_dict("records")])
    return df, sorted(set(names))


def _dataset_panels(df: pd.DataFrame, keys: list[str], height: float):
    """(df with its `line` column, colour per line, datasets, fig, axes): one panel per dataset, the
    lines named by the keys other than the dataset."""
    df, names = _lines(df, [k for k in keys if k != "dataset" and k in df.columns])
    datasets = sorted(df["dataset"].astype(str).unique())
    fig, axes = _plt().subplots(1, len(datasets), figsize=(5.5 * len(datasets), height), squeeze=False)
    return df, colours(names), datasets, fig, axes


def figure_legend(fig, axes, title: str) -> None:
    """One legend under the panels: a configuration has the same colour in every panel."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(3, len(handles)), fontsize=8, title=title, title_fontsize=8, frameon=False)


def plot_traces(trace: pd.DataFrame, rows: pd.DataFrame, keys: list[str], path: Path) -> bool:
    """Best-so-far test accuracy (%) against evaluations: median over seeds and the band of the middle
    half of the seeds (25th to 75th percentile); the optimum's test accuracy as a dashed line; a panel
    per dataset."""
    if trace.empty or not {TRACE_EVAL, TRACE_BEST, "dataset", "cell_id"} <= set(trace.columns):
        return False
    trace, colour, datasets, fig, axes = _dataset_panels(trace, keys, 4.6)
    for ax, dataset in zip(axes[0], datasets):
        part = trace[trace["dataset"].astype(str) == dataset]
        lows, highs = [], []
        for name, line in part.groupby("line", sort=True):
            wide = line.pivot_table(index=TRACE_EVAL, columns="cell_id", values=TRACE_BEST).sort_index()
            values = wide.to_numpy(dtype=float)  # NaN after a run's last evaluation: it made no more
            with np.errstate(all="ignore"):
                median = np.nanmedian(values, axis=1)
                lo, hi = np.nanpercentile(values, 25, axis=1), np.nanpercentile(values, 75, axis=1)
            x = wide.index.to_numpy()
            ax.plot(x, median, color=colour[name], lw=1.4, label=name)
            ax.fill_between(x, np.clip(lo, 0, 100), np.clip(hi, 0, 100), color=colour[name], alpha=0.18, lw=0)
            late = x >= 0.1 * x.max()
            lows.append(np.nanmin(lo[late]))
            highs.append(np.nanmax(hi))
        optimum = _optimum(rows, dataset)
        if optimum is not None:
            ax.axhline(optimum, color="black", ls="--", lw=1, label="optimum: test accuracy of the best cell by the search metric")
            ax.annotate(f"optimum {optimum:.2f}%", (0.02, optimum), xycoords=("axes fraction", "data"), fontsize=7,
                        va="bottom")
            highs.append(optimum)
        if lows:
            top = max(highs)
            ax.set_ylim(max(0.0, min(lows) - 0.5), min(100.0, top + 0.15 * max(top - min(lows), 0.5)))
        ax.set_title(dataset)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best-so-far test accuracy (%)")
        ax.grid(alpha=0.3)
    figure_legend(fig, axes[0], "median over seeds; band: 25th-75th percentile of the seeds")
    save(fig, path)
    return True


def _optimum(rows: pd.DataFrame, dataset: str) -> float | None:
    if rows.empty or "optimum_test" not in rows.columns or "dataset" not in rows.columns:
        return None
    values = pd.to_numeric(rows.loc[rows["dataset"].astype(str) == dataset, "optimum_test"], errors="coerce").dropna()
    return float(values.max()) if len(values) else None


def plot_reached(rows: pd.DataFrame, keys: list[str], path: Path, measure: str = "evals_to_optimum") -> bool:
    """Share of runs (%) that reached the optimum within e evaluations: one minus the Kaplan-Meier
    survival curve (runs that stopped short are censored where they stopped); a panel per dataset."""
    flag = CENSORED[measure]
    if rows.empty or not {measure, flag, "dataset"} <= set(rows.columns):
        return False
    rows, colour, datasets, fig, axes = _dataset_panels(rows, keys, 4.2)
    for ax, dataset in zip(axes[0], datasets):
        part = rows[rows["dataset"].astype(str) == dataset]
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
            ax.step(x, y, where="post", color=colour[name], lw=1.4, label=name)
        ax.axhline(100.0, color="black", ls="--", lw=1, label="every run")
        ax.set_ylim(-2, 102)
        ax.set_title(dataset)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("runs that reached the optimum (%, Kaplan-Meier)")
        ax.grid(alpha=0.3)
    figure_legend(fig, axes[0], "share of runs that reached the optimum, Kaplan-Meier")
    save(fig, path)
    return True


def plot_kendall_vs_ntrain(rows: pd.DataFrame, keys: list[str], path: Path) -> bool:
    """Kendall tau against training-set size: median over seeds with its 95% percentile-bootstrap
    interval (inside [-1, 1] by construction); a panel per target, one colour per configuration."""
    if rows.empty or not {"kendall", "n_train", "target"} <= set(rows.columns):
        return False
    plt = _plt()
    # n_test follows n_train where the test set is "the rest of the pool": not a line of its own
    line_keys = [k for k in keys if k not in ("target", "n_train", "transfer", "n_test") and k in rows.columns]
    rows, names = _lines(rows, line_keys)
    rows = rows.assign(n_train=pd.to_numeric(rows["n_train"], errors="coerce"))
    colour = colours(names)
    targets = sorted(rows["target"].astype(str).unique())
    sizes = sorted(rows["n_train"].dropna().unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        part = rows[rows["target"].astype(str) == target]
        for name, line in part.groupby("line", sort=True):
            points = []
            for n_train, at in line.groupby("n_train", sort=True):
                _, med, lo, hi = stats.median_ci(at["kendall"])
                points.append((n_train, med, lo if np.isfinite(lo) else med, hi if np.isfinite(hi) else med))
            x, med, lo, hi = (np.array(v, dtype=float) for v in zip(*points))
            ax.errorbar(x, med, yerr=np.vstack([med - lo, hi - med]), marker="o", capsize=3, color=colour[name], label=name)
        if len(sizes) > 1:
            ax.set_xscale("log")
        ax.set_xticks(sizes, [str(int(n)) for n in sizes])
        ax.minorticks_off()
        ax.set_title(f"target {target}")
        ax.set_xlabel("training cells (n_train)")
        ax.set_ylabel("Kendall tau (median, 95% bootstrap CI)")
        ax.grid(alpha=0.3)
    figure_legend(fig, axes[0], "median over seeds, bars: 95% bootstrap CI")
    save(fig, path)
    return True


def plot_scatter(points: pd.DataFrame, title: str, path: Path) -> bool:
    """Predicted against true accuracy (%) of held-out cells, with y = x; a panel per target."""
    if points.empty or not {"true", "predicted", "target"} <= set(points.columns):
        return False
    plt = _plt()
    targets = sorted(points["target"].astype(str).unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 4.4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        part = points[points["target"].astype(str) == target]
        true, pred = 100.0 * part["true"].to_numpy(float), 100.0 * part["predicted"].to_numpy(float)
        tau = sps.kendalltau(true, pred).statistic
        ax.scatter(true, pred, s=6, alpha=0.5, color="tab:blue", label="held-out cell")
        lo, hi = float(np.nanmin([true.min(), pred.min()])), float(np.nanmax([true.max(), pred.max()]))
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--", label="y = x")
        ax.set_title(f"{target} (Kendall {tau:.3f}, {len(part)} cells)")
        ax.set_xlabel("true accuracy (%)")
        ax.set_ylabel("predicted accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
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
    names = ranks["method"].tolist()
    cd = info["cd"]
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.3 * ((k + 1) // 2)))
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
    save(fig, path)
    return True
