"""Scoreboard plots: anytime regret curves with bootstrap bands, and the average rank over time.

Regret is drawn on a log axis (0 is drawn at the axis floor: the optimum itself); the band is the 95%
percentile-bootstrap interval of the median over seeds; one colour per method, the same in every panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .plots import _plt, colours, save

FLOOR = 1e-3  # regret 0 drawn here on the log axis


def plot_curves(bands: dict[tuple, dict[str, tuple]], xlabel: str, path: Path) -> bool:
    """`bands`: {(space, dataset, oracle): {method: (x, median, low, high)}}; one panel per task."""
    if not bands:
        return False
    plt = _plt()
    tasks = sorted(bands)
    colour = colours(m for t in tasks for m in bands[t])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for method, (x, med, lo, hi) in sorted(bands[task].items()):
            ok = np.isfinite(med)
            if not ok.any():
                continue
            c = colour[method]
            ax.plot(np.asarray(x)[ok], np.maximum(med[ok], FLOOR), color=c, label=method, lw=1.4)
            both = ok & np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(np.asarray(x)[both], np.maximum(lo[both], FLOOR), np.maximum(hi[both], FLOOR),
                            color=c, alpha=0.15, lw=0)
        ax.set_yscale("log")
        if xlabel != "evaluations":
            ax.set_xscale("log")
        space, dataset, oracle = task
        ax.set_title(f"{space} {dataset} ({'single-seed' if oracle == 'seed' else 'mean'} labels)", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("simple regret (median over seeds, 95% CI)")
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(len(labels), 1)), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.035 * (len(labels) // 4)))
    fig.tight_layout(rect=(0, 0.08 + 0.03 * (len(labels) // 4), 1, 1))
    save(fig, path)
    return True


def plot_ranks(ranks: pd.DataFrame, path: Path) -> bool:
    """Average rank (1 = lowest median regret) over evaluations, one panel per space and label protocol."""
    if ranks.empty:
        return False
    plt = _plt()
    groups = sorted(ranks.groupby(["space", "oracle"]).groups)
    colour = colours(ranks["method"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.2), squeeze=False)
    for ax, (space, oracle) in zip(axes[0], groups):
        part = ranks[(ranks["space"] == space) & (ranks["oracle"] == oracle)]
        for method, mp in sorted(part.groupby("method")):
            ax.plot(mp["eval"], mp["average_rank"], color=colour[method], label=method, lw=1.4)
        n = int(part["datasets"].max())
        ax.set_title(f"{space}, {'single-seed' if oracle == 'seed' else 'mean'} labels: average over {n} datasets", fontsize=9)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("average rank of median regret (1 = best)")
        ax.invert_yaxis()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save(fig, path)
    return True
