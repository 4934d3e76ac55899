"""Scoreboard plots: anytime regret curves with bootstrap bands, and the average rank over time.

Regret is drawn on a symmetric-log axis, linear below a tenth of the space's smallest eps (NB201:
0.01 points), so 0, the optimum itself, is drawn; its unit is the search metric's (`units.Scale.regret_unit`).
The band is the 95% percentile-bootstrap interval of the median over seeds; one colour per method,
the same in every panel; panels wrap into rows of at most three, a row group per space and label protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .legends import fit
from .plots import MAX_COLUMNS, _plt, colours, finish, panels, save

LINEAR_BELOW = 0.01  # the symlog axis is linear below this regret, so a median of 0 is drawn (NB201's default)


def _oracle(oracle: str) -> str:
    return "single-seed" if oracle == "seed" else "mean"


def _grid(tasks: list[tuple], width: float, height: float):
    """(fig, {task: ax}): the tasks of each (space, label protocol) on rows of their own, at most
    MAX_COLUMNS datasets to a row."""
    groups: dict[tuple, list[tuple]] = {}
    for task in sorted(tasks, key=lambda t: (t[0], t[2] != "seed", t[1])):
        groups.setdefault((task[0], task[2]), []).append(task)
    columns = max(1, min(MAX_COLUMNS, max(len(g) for g in groups.values())))
    rows = sum(math.ceil(len(g) / columns) for g in groups.values())
    fig, axes = _plt().subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    where, row = {}, 0
    for group in groups.values():
        for i, task in enumerate(group):
            where[task] = axes[row + i // columns][i % columns]
            where[task].set_visible(True)
        row += math.ceil(len(group) / columns)
    return fig, where


def plot_curves(bands: dict[tuple, dict[str, tuple]], xlabel: str, path: Path,
                axis: dict[tuple, dict[str, Any]] | None = None) -> bool:
    """`bands`: {(space, dataset, oracle): {method: (x, median, low, high)}}; one panel per task.
    `axis`: per task, the regret's `unit` and the symlog axis' `linear_below` (defaults: no unit, 0.01)."""
    if not bands:
        return False
    axis = axis or {}
    tasks = sorted(bands)
    names = sorted({m for t in tasks for m in bands[t]})
    colour = colours(names)
    text, notes = fit(names)
    fig, where = _grid(tasks, 4.6, 3.4)
    for task in tasks:
        ax = where[task]
        for method, (x, med, lo, hi) in sorted(bands[task].items()):
            ok = np.isfinite(med)
            if not ok.any():
                continue
            c = colour[method]
            ax.plot(np.asarray(x)[ok], med[ok], color=c, label=text[method], lw=1.4)
            both = ok & np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(np.asarray(x)[both], lo[both], hi[both], color=c, alpha=0.15, lw=0)
        info = axis.get(task, {})
        ax.set_yscale("symlog", linthresh=info.get("linear_below", LINEAR_BELOW))
        ax.set_ylim(bottom=0)
        if xlabel != "evaluations":
            ax.set_xscale("log")
        space, dataset, oracle = task
        ax.set_title(f"{space} {dataset} ({_oracle(oracle)} labels)", fontsize=9)
        ax.set_xlabel(xlabel)
        unit = info.get("unit", "")
        ax.set_ylabel(f"simple regret ({unit})" if unit else "simple regret")
        ax.grid(alpha=0.3, which="both")
    finish(fig, list(where.values()), "Lines: median regret over seeds of the incumbent, against the noise-free "
                                      "optimum; bands: 95% percentile-bootstrap interval of the median; "
                                      "symmetric-log axis, linear near 0.", notes)
    save(fig, path)
    return True


def plot_ranks(ranks: pd.DataFrame, path: Path) -> bool:
    """Average rank (1 = lowest median regret) over evaluations, one panel per space and label protocol."""
    if ranks.empty:
        return False
    groups = sorted(ranks.groupby(["space", "oracle"]).groups)
    names = sorted(ranks["method"].unique())
    colour = colours(names)
    text, notes = fit(names)
    fig, axes = panels(len(groups), 5.2, 3.6)
    for ax, (space, oracle) in zip(axes, groups):
        part = ranks[(ranks["space"] == space) & (ranks["oracle"] == oracle)]
        for method, mp in sorted(part.groupby("method")):
            ax.plot(mp["eval"], mp["average_rank"], color=colour[method], label=text[method], lw=1.4)
        n = int(part["datasets"].max())
        ax.set_title(f"{space}, {_oracle(oracle)} labels, {n} datasets", fontsize=9)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("average rank (1 = best)")
        ax.invert_yaxis()
        ax.grid(alpha=0.3)
    finish(fig, axes, "At each evaluation, each method's rank by median regret on each dataset where every "
                      "method ran (1 = lowest), averaged over the datasets.", notes)
    save(fig, path)
    return True
