"""The ACT predictor on each torch device: the same fits, their quality and their times.

For each seed and each device in --devices, the `act-mixed` preset (plus --kwargs) is fitted on 900
cells of the functional pool (leak-free: one cell per functional class; cells drawn with
np.random.default_rng(seed); CIFAR-10 valid labels) and scored on the rest of the pool; then every
cell of the space (15,625, functional copies included) is predicted --predict-repeats times. Times are
wall-clock, with the device synchronised before each clock read; the CPU rows run with --threads torch
threads. Rows go to --output, one per (device, seed), written as each finishes; a (device name,
settings, seed) already there is skipped, so a killed run resumes. The summary compares each device's
Kendall with the CPU's on the same seeds: the stated tolerance is that the mean over seeds agrees
within 0.005 (float summation order differs between devices, so single fits are not bit-identical).

  python benchmarks/act_device.py --devices cpu,cuda --seeds 0-9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.atomic import append_csv, read_records
from nasbench_rank.quality.protocol import pool_indices, score, split
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors.act import resolve_device
from nasbench_rank.provenance import provenance
from nasbench_rank.seeding import parse_ranges

ROOT = Path(__file__).resolve().parents[1]
POOL, METRIC, SOURCE, N_TRAIN = "functional", "valid", "cifar10", 900
TOLERANCE = 0.005  # on the mean Kendall over seeds, against the CPU's


def device_name(device: torch.device, threads: int) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{threads} thread{'s' if threads > 1 else ''}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args) -> None:
    table = bench.load()
    kwargs = json.loads(args.kwargs)
    key = json.dumps(kwargs, sort_keys=True)
    pool = pool_indices(table, POOL)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    done = {(r["device"], r["predictor_kwargs"], int(r["seed"])) for r in read_records(args.output)}
    for seed in parse_ranges(args.seeds):
        train, test = split(pool, N_TRAIN, len(pool) - N_TRAIN, seed)
        for requested in args.devices.split(","):
            device = resolve_device(requested)
            name = device_name(device, args.threads)
            if (name, key, seed) in done:
                continue
            model = get_plugins().predictors.create("act", seed=seed, device=requested, threads=args.threads,
                                                    **kwargs)  # the registry hands over the loss
            sync(device)
            started = time.perf_counter()
            model.fit(table.cells[train], labels[train])
            sync(device)
            fit_seconds = time.perf_counter() - started
            pred = model.predict(table.cells[test])
            predicts = []
            for _ in range(args.predict_repeats):
                sync(device)
                started = time.perf_counter()
                model.predict(table.cells)
                sync(device)
                predicts.append(time.perf_counter() - started)
            row = {"device": name, "requested": requested, "predictor": "act-mixed", "predictor_kwargs": key,
                   "pool": POOL, "metric": METRIC, "source": SOURCE, "target": SOURCE, "n_train": N_TRAIN,
                   "n_test": len(test), "seed": seed, **score(pred, labels[test]), "fit_seconds": fit_seconds,
                   "predict_cells": len(table.cells), "predict_seconds_median": statistics.median(predicts),
                   "predict_repeats": len(predicts), "threads": args.threads, "version": __version__,
                   "revision": args.revision, **provenance(table)}
            print(f"{name} seed {seed}: kendall {row['kendall']:.4f}, fit {fit_seconds:.2f} s, predict all "
                  f"{row['predict_seconds_median']:.4f} s", flush=True)
            append_csv(args.output, [row])
    summarise(args.output)


def summarise(path: Path) -> None:
    frame = pd.DataFrame(read_records(path))
    if frame.empty:
        return
    print(frame.groupby(["device", "predictor_kwargs"]).agg(
        kendall_mean=("kendall", "mean"), kendall_median=("kendall", "median"), n=("seed", "size"),
        fit_s_median=("fit_seconds", "median"), predict_s_median=("predict_seconds_median", "median"),
    ).to_string(float_format=lambda v: f"{v:.4f}"))
    cpu = frame[frame["device"].str.startswith("cpu")]
    for (name, kw), rows in frame[~frame["device"].str.startswith("cpu")].groupby(["device", "predictor_kwargs"]):
        both = rows.merge(cpu[cpu["predictor_kwargs"] == kw], on="seed", suffixes=("", "_cpu"))
        if len(both):
            diff = both["kendall"] - both["kendall_cpu"]
            print(f"{name} against CPU on {len(both)} seeds: mean Kendall {both['kendall'].mean():.4f} vs "
                  f"{both['kendall_cpu'].mean():.4f} (difference {diff.mean():+.4f}; per seed "
                  f"{diff.min():+.4f} to {diff.max():+.4f}); within {TOLERANCE}: {abs(diff.mean()) <= TOLERANCE}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the CPU fits")
    parser.add_argument("--kwargs", default="{}", help="JSON settings added to the act-mixed defaults")
    parser.add_argument("--predict-repeats", type=int, default=5)
    parser.add_argument("--revision", default=os.environ.get("SOURCE_REVISION", ""),
                        help="the git commit the code came from (the device copy has no .git)")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "act_device.csv")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    summarise(args.output) if args.summary_only else run(args)
