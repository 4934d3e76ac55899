"""Scoreboard plots: anytime regret curves with bootstrap bands, and the average rank over time.

Regret is drawn on a symmetric-log axis (linear below 0.01, so 0, the optimum itself, is drawn); the band is the 95%
percentile-bootstrap interval of the median over seeds; one colour per method, the same in every panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .plots import _plt, colours, save

LINEAR_BELOW = 0.01  # the symlog axis is linear below this regret, so a median of 0 is drawn


def plot_curves(bands: dict[tuple, dict[str, tuple]], xlabel: str, path: Path) -> bool:
    """`bands`: {(space, dataset, oracle): {method: (x, median, low, high)}}; one panel per task: a row
    per space and label protocol, a column per dataset."""
    if not bands:
        return False
    plt = _plt()
    tasks = sorted(bands)
    colour = colours(m for t in tasks for m in bands[t])
    row_keys = sorted({(t[0], t[2]) for t in tasks}, key=lambda k: (k[0], k[1] != "seed"))
    col_keys = sorted({(t[0], t[1]) for t in tasks})
    fig, axes = plt.subplots(len(row_keys), len(col_keys), figsize=(5.2 * len(col_keys), 3.8 * len(row_keys)),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for task in tasks:
        ax = axes[row_keys.index((task[0], task[2]))][col_keys.index((task[0], task[1]))]
        ax.set_visible(True)
        for method, (x, med, lo, hi) in sorted(bands[task].items()):
            ok = np.isfinite(med)
            if not ok.any():
                continue
            c = colour[method]
            ax.plot(np.asarray(x)[ok], med[ok], color=c, label=method, lw=1.4)
            both = ok & np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(np.asarray(x)[both], lo[both], hi[both], color=c, alpha=0.15, lw=0)
        ax.set_yscale("symlog", linthresh=LINEAR_BELOW)
        ax.set_ylim(bottom=0)
        if xlabel != "evaluations":
            ax.set_xscale("log")
        space, dataset, oracle = task
        ax.set_title(f"{space} {dataset} ({'single-seed' if oracle == 'seed' else 'mean'} labels)", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("simple regret (median over seeds, 95% CI)")
        ax.grid(alpha=0.3, which="both")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", ncol=min(4, max(len(labels), 1)), fontsize=8,
               bbox_to_anchor=(0.5, 0.0))
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
