"""ACT predictor configurations on the leak-free protocol: pool `functional` (one cell per functional
class, 4,930 cells), `n_train` training cells drawn with `np.random.default_rng(seed)`
(`evaluation.split`), every other pool cell as test cell, CIFAR-10 `valid`. Rows carry the standard
evaluation columns (`evaluation.COLUMNS`), the configuration's name and settings, what the model
learned from (`labelled_cells`; `unlabelled_cells`: cells seen without a label), the spread of the
halting steps on the test cells, CPU seconds of the fit, and provenance.

  nice -n 10 python benchmarks/act_ablation.py --configs speed_bs64_e30 --seeds 100,101 --n-train 900 \
      --output results/act_speed_tuning.csv

Resumable: rows whose key (`evaluation.ROW_KEY`) is in the output already are skipped; each row is
merged into the output as soon as it is done (`evaluation.write_rows`: locked, atomic).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import torch

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.quality.protocol import existing_keys, pool_indices, read_rows, row_key, score, split, write_rows
from nasbench_rank.plugins import get_plugins
from nasbench_rank.provenance import provenance
from nasbench_rank.seeding import parse_ranges as parse_ints

ROOT = Path(__file__).resolve().parents[1]
POOL, METRIC, SOURCE = "functional", "valid", "cifar10"
REC = {"H_cycles": 2, "L_cycles": 2}

# name -> settings on top of ACTPredictor's defaults; one question each
CONFIGS: dict[str, dict] = {
    "default": {},
    # speed: fewer optimiser steps (larger batches with a matched learning rate, fewer epochs)
    "was_bs32_e60": {"batch_size": 32, "epochs": 60, "lr": 2e-3},
    "speed_bs64_e30": {"batch_size": 64, "epochs": 30, "lr": 3e-3},
    "speed_bs128_e30": {"batch_size": 128, "epochs": 30, "lr": 4e-3},
    "speed_bs64_e20": {"batch_size": 64, "epochs": 20, "lr": 4e-3},
    "speed_bs32_e15": {"batch_size": 32, "epochs": 15, "lr": 2e-3},
    "speed_bs64_e15": {"batch_size": 64, "epochs": 15, "lr": 4e-3},
    # few cells: at least this many optimiser steps however few the cells (60 epochs of 100 cells are 240)
    "few_minsteps1000": {"min_steps": 1000},
    # recursion: H_cycles x L_cycles >= 2 and >= 2 supervised ACT steps
    "rec_H2L1_s2": {"H_cycles": 2, "L_cycles": 1, "halt_max_steps": 2},
    "rec_H2L2_s2_lr1e-3": {**REC, "halt_max_steps": 2, "lr": 1e-3},
    "rec_H2L2_s2_lr1e-3_ema": {**REC, "halt_max_steps": 2, "lr": 1e-3, "ema": 0.99},
    "rec_H2L2_s4_lr1e-3_ema": {**REC, "halt_max_steps": 4, "lr": 1e-3, "ema": 0.99},
    "rec_H1L2_s2_lr1e-3_warm": {"L_cycles": 2, "halt_max_steps": 2, "lr": 1e-3, "warmup": 0.2},
    "rec_H1L2_s2_ema": {"L_cycles": 2, "halt_max_steps": 2, "ema": 0.99},
    # recursion, round 2: deeper supervision (3-4 steps), EMA, lower lr with a longer warm-up, a halting
    # tolerance near the test error (0.01) so that the halting target is not "never good"
    "rec2_H2L2_s3_ema": {**REC, "halt_max_steps": 3, "lr": 1e-3, "warmup": 0.2, "ema": 0.995},
    "rec2_H1L2_s4_ema_tol": {"L_cycles": 2, "halt_max_steps": 4, "lr": 1e-3, "warmup": 0.2, "ema": 0.995,
                             "halt_tolerance": 0.01},
    "rec2_H2L1_s3_ema_ms": {"H_cycles": 2, "halt_max_steps": 3, "lr": 1e-3, "warmup": 0.2, "ema": 0.995,
                            "min_steps": 1000},
    "rec2_H2L1_s4_lr5e-4_tol": {"H_cycles": 2, "halt_max_steps": 4, "lr": 5e-4, "warmup": 0.2, "ema": 0.995,
                                "halt_tolerance": 0.01},
    # few cells: label-free pretraining on every cell of the space (structural targets, `act_pretrain`),
    # then the usual labelled fit with fresh heads (and, in one, a gentler learning rate to keep it)
    "pre_e5": {"pretrain_epochs": 5},
    "pre_e20": {"pretrain_epochs": 20},
    "pre_e5_lr1e-3": {"pretrain_epochs": 5, "lr": 1e-3},
    "ctl_lr1e-3": {"lr": 1e-3},  # the control of pre_e5_lr1e-3: the lower learning rate without pretraining
}


def run_one(table: bench.Table, name: str, settings: dict, n_train: int, seed: int) -> dict:
    pool = pool_indices(table, POOL)
    train, test = split(pool, n_train, len(pool) - n_train, seed)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    model = get_plugins().predictors.create("act", **{**settings, "seed": seed})  # the registry hands over the loss
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(table.cells[train], labels[train])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pred = model.predict(table.cells[test])
    halts = model.halting_steps(table.cells[test])
    kwargs = json.dumps(settings, sort_keys=True)
    return {"predictor": "act", "loss": model.loss, "predictor_kwargs": kwargs, "pool": POOL, "metric": METRIC,
            "source": SOURCE, "target": SOURCE, "n_train": n_train, "n_test": len(test), "seed": seed,
            **score(pred, labels[test]), "fit_seconds": wall, "transfer": False, "version": __version__,
            "config": name, "labelled_cells": n_train,
            "unlabelled_cells": int(getattr(model, "n_unlabelled_", 0)), "fit_cpu_seconds": cpu,
            "halt_steps_mean": float(halts.mean()), "halt_steps_std": float(halts.std()),
            "halt_steps_distinct": int(len(np.unique(halts))), "load_avg_1min": load, **provenance(table)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", required=True, help=f"comma-separated, from: {', '.join(CONFIGS)}")
    parser.add_argument("--seeds", default="100,101")
    parser.add_argument("--n-train", default="900")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "act_recursion.csv")
    parser.add_argument("--summary", type=Path, default=None,
                        help="also write per configuration and size: median Kendall with its 95%% percentile "
                             "bootstrap interval, the mean, the mean paired difference to `default` on the "
                             "same seeds, and the halting spread (all rows of the output, these configs)")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args(argv)
    names = [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
    if args.summary_only:
        return write_summary(args.output, args.summary, names)
    torch.set_num_threads(1)
    table = bench.load()
    for n_train in parse_ints(args.n_train):
        for name in names:
            for seed in parse_ints(args.seeds):
                key = row_key({"predictor": "act", "loss": "mixed", "predictor_kwargs": json.dumps(CONFIGS[name], sort_keys=True),
                               "pool": POOL, "metric": METRIC, "source": SOURCE, "target": SOURCE,
                               "n_train": n_train, "n_test": 4930 - n_train, "seed": seed})
                if key in existing_keys(read_rows(args.output)):
                    continue
                row = run_one(table, name, CONFIGS[name], n_train, seed)
                print(f"{name:>26} n {n_train:>4} seed {seed:>3}  kendall {row['kendall']:.4f}  "
                      f"halt steps {row['halt_steps_mean']:.2f}±{row['halt_steps_std']:.2f} "
                      f"fit {row['fit_seconds']:.1f}s (cpu {row['fit_cpu_seconds']:.1f}s)", flush=True)
                write_rows(args.output, [row])
    frame = read_rows(args.output)
    frame = frame[frame["config"].isin(names)]
    if len(frame):
        print(frame.groupby(["n_train", "config"])[["kendall", "fit_cpu_seconds", "halt_steps_std"]]
              .agg(["mean", "count"]).to_string(float_format=lambda v: f"{v:.4f}"))
    if args.summary is not None:
        write_summary(args.output, args.summary, names)


def write_summary(output: Path, summary: Path | None, names: list[str]) -> None:
    from nasbench_rank.atomic import write_csv
    from nasbench_rank.report.stats import median_ci

    frame = read_rows(output)
    frame = frame[frame["config"].isin(names)]
    rows = []
    for (n_train, name), group in frame.groupby(["n_train", "config"], sort=True):
        base = frame[(frame["config"] == "default") & (frame["n_train"] == n_train)].set_index("seed")["kendall"]
        paired = group.set_index("seed")["kendall"].sub(base).dropna()
        n, med, lo, hi = median_ci(group["kendall"])
        rows.append({"config": name, "predictor_kwargs": group["predictor_kwargs"].iloc[0], "pool": POOL,
                     "metric": METRIC, "source": SOURCE, "n_train": int(n_train),
                     "unlabelled_cells": int(group["unlabelled_cells"].max()),
                     "seeds": ",".join(str(s) for s in sorted(group["seed"])), "n": n, "kendall_median": med,
                     "kendall_ci_low": lo, "kendall_ci_high": hi, "kendall_mean": float(group["kendall"].mean()),
                     "minus_default_mean": float(paired.mean()) if len(paired) else float("nan"),
                     "beats_default_seeds": f"{int((paired > 0).sum())}/{len(paired)}",
                     "halt_steps_mean": float(group["halt_steps_mean"].mean()),
                     "halt_steps_std_mean": float(group["halt_steps_std"].mean()),
                     "halt_steps_distinct_max": int(group["halt_steps_distinct"].max()),
                     "fit_cpu_seconds_median": float(group["fit_cpu_seconds"].median())})
    table = pd.DataFrame(rows)
    if summary is not None and len(table):
        write_csv(summary, rows, list(table.columns))
    if len(table):
        print(table.drop(columns=["predictor_kwargs", "pool", "metric", "source"])
              .to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
