"""Fit and predict time of each predictor: fit on 900 CIFAR-10 cells (full pool, metric test, seed 0),
median of 3 fits, then predict all 15,625 cells; one thread (torch threads and XGBoost n_jobs default
to 1). Resumable: predictors already in results/fit_time.csv are skipped.

  nice -n 10 python benchmarks/fit_time.py [--predictors xgb,mlp-mse] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.quality.protocol import pool_indices, split
from nasbench_rank.plugins import get_plugins

PREDICTORS = ("act-mse", "act-rank", "act-mixed", "xgb", "xgb-rank", "mlp-mse", "mlp-mixed", "xgb-ensemble")
N_TRAIN = 900
SEED = 0


def measure(name: str, repeats: int, table: bench.Table) -> dict:
    train, _ = split(pool_indices(table, "full"), N_TRAIN, 0, SEED)
    y = table.accuracy("cifar10", "test", fraction=True)[train]
    seconds = []
    for _ in range(repeats):
        model = get_plugins().predictors.create(name, seed=SEED)
        started = time.perf_counter()
        model.fit(table.cells[train], y)
        seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    model.predict(table.cells)
    predict_seconds = time.perf_counter() - started
    loss = getattr(model, "loss", "")
    return {"predictor": name, "loss": loss if isinstance(loss, str) else "", "pool": "full", "metric": "test",
            "source": "cifar10", "n_train": N_TRAIN, "seed": SEED, "repeats": repeats,
            "fit_seconds_median": statistics.median(seconds), "fit_seconds_min": min(seconds),
            "fit_seconds_max": max(seconds), "predict_seconds_all_cells": predict_seconds,
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "load_avg_1min": os.getloadavg()[0], "version": __version__}  # load: how shared the cores were


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictors", default=",".join(PREDICTORS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "fit_time.csv")
    args = parser.parse_args(argv)
    table = bench.load()
    rows = pd.read_csv(args.output, keep_default_na=False).to_dict("records") if args.output.is_file() else []
    for name in [p.strip() for p in args.predictors.split(",") if p.strip()]:
        if any(r["predictor"] == name and r["repeats"] == args.repeats for r in rows):
            continue
        row = measure(name, args.repeats, table)
        print(f"{name}: fit {row['fit_seconds_median']:.2f} s (median of {args.repeats}), "
              f"predict 15,625 cells {row['predict_seconds_all_cells']:.2f} s", file=sys.stderr, flush=True)
        rows = [r for r in rows if r["predictor"] != name] + [row]
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.output.with_name(f".{args.output.name}.tmp")
        pd.DataFrame(rows).to_csv(tmp, index=False)
        os.replace(tmp, args.output)
    if rows:
        print(pd.DataFrame(rows)[["predictor", "loss", "n_train", "repeats", "fit_seconds_median",
                                  "predict_seconds_all_cells"]].to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
