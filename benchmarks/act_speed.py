"""ACT predictor speed and quality, before and after the speed work, measured in the same run.

"before" is `nasbench_rank/predictors/act.py` at git revision BEFORE_REV, read with `git show` into a
temporary folder and imported from there; "after" is the package's current `ACTPredictor`. Both use
their own defaults (the `act` preset).

  timing:  fit on 900 cells of the functional pool (seed 0, CIFAR-10 valid), median of --repeats fits,
           then predict every cell of the space (15,625 cells, functional copies included), median of
           --repeats; one torch thread. Rows go to results/act_speed.csv.
  quality: the same protocol as `evaluation.evaluate_predictor` (pool functional, 900 training cells
           drawn with np.random.default_rng(seed), the rest of the pool as test cells, CIFAR-10 valid),
           seeds --seeds; rows in the standard columns plus `impl` and provenance go to
           results/act_speed_quality.csv. Resumable: rows already there are skipped.

  nice -n 10 python benchmarks/act_speed.py timing --repeats 5 [--predict-repeats 3]
  nice -n 10 python benchmarks/act_speed.py quality --impl before --seeds 0-9
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import torch

from nasbench_rank import __version__, bench
from nasbench_rank.atomic import write_csv
from nasbench_rank.evaluation import pool_indices, score, split
from nasbench_rank.provenance import provenance

BEFORE_REV = "ea56dd9"  # the branch's start: the model as it was before the speed work
ROOT = Path(__file__).resolve().parents[1]
POOL, METRIC, SOURCE, N_TRAIN = "functional", "valid", "cifar10", 900


def load_impl(impl: str):
    """The ACTPredictor class of `impl` ('before' or 'after')."""
    if impl == "after":
        from nasbench_rank.predictors.act import ACTPredictor

        return ACTPredictor
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE_REV}:nasbench_rank/predictors/act.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="act_before_")) / "act_before.py"
    path.write_text(source)
    # a module of the predictors package, so its relative imports (`from .. import space`) resolve
    spec = importlib.util.spec_from_file_location("nasbench_rank.predictors._act_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ACTPredictor


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def read(path: Path) -> list[dict]:
    return pd.read_csv(path, keep_default_na=False).to_dict("records") if path.is_file() else []


def timing(args, table) -> None:
    torch.set_num_threads(1)
    train, _ = split(pool_indices(table, POOL), N_TRAIN, 0, 0)
    y = table.accuracy(SOURCE, METRIC, fraction=True)[train]
    rows = []
    for impl in args.impls.split(","):
        cls = load_impl(impl)
        cls(seed=0, epochs=1).fit(table.cells[train[:64]], y[:64])  # warm caches (functional groups) once
        fits, predicts = [], []
        for _ in range(args.repeats):
            model = cls(seed=0)
            started = time.perf_counter()
            model.fit(table.cells[train], y)
            fits.append(time.perf_counter() - started)
        for _ in range(args.predict_repeats or args.repeats):
            started = time.perf_counter()
            model.predict(table.cells)
            predicts.append(time.perf_counter() - started)
        row = {"impl": impl, "revision": BEFORE_REV if impl == "before" else "current", "pool": POOL,
               "metric": METRIC, "source": SOURCE, "n_train": N_TRAIN, "seed": 0, "threads": 1,
               "repeats": args.repeats, "predict_repeats": len(predicts), "fit_seconds_median": statistics.median(fits),
               "fit_seconds_min": min(fits), "fit_seconds_max": max(fits), "predict_cells": len(table.cells),
               "predict_seconds_median": statistics.median(predicts), "predict_seconds_min": min(predicts),
               "load_avg_1min": os.getloadavg()[0], **provenance(table)}
        print(f"{impl}: fit 900 cells {row['fit_seconds_median']:.2f} s (median of {args.repeats}; "
              f"{', '.join(f'{s:.2f}' for s in fits)}), predict {len(table.cells)} cells "
              f"{row['predict_seconds_median']:.3f} s (median; {', '.join(f'{s:.3f}' for s in predicts)})",
              flush=True)
        rows.append(row)
    if len(rows) == 2:
        print(f"ratio before/after: fit {rows[0]['fit_seconds_median'] / rows[1]['fit_seconds_median']:.2f}x, "
              f"predict {rows[0]['predict_seconds_median'] / rows[1]['predict_seconds_median']:.2f}x", flush=True)
    write_csv(args.output, rows)


def quality(args, table) -> None:
    torch.set_num_threads(1)
    cls = load_impl(args.impl)
    pool = pool_indices(table, POOL)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    rows = read(args.output)
    for seed in parse_seeds(args.seeds):
        if any(r["impl"] == args.impl and int(r["seed"]) == seed for r in rows):
            continue
        train, test = split(pool, N_TRAIN, len(pool) - N_TRAIN, seed)
        model = cls(seed=seed)
        started = time.perf_counter()
        model.fit(table.cells[train], labels[train])
        fit_seconds = time.perf_counter() - started
        pred = model.predict(table.cells[test])
        row = {"impl": args.impl, "revision": BEFORE_REV if args.impl == "before" else "current",
               "predictor": "act", "loss": "mixed", "predictor_kwargs": "{}", "pool": POOL, "metric": METRIC,
               "source": SOURCE, "target": SOURCE, "n_train": N_TRAIN, "n_test": len(test), "seed": seed,
               **score(pred, labels[test]), "fit_seconds": fit_seconds, "transfer": False, "version": __version__,
               "load_avg_1min": os.getloadavg()[0], **provenance(table)}
        print(f"{args.impl} seed {seed}: kendall {row['kendall']:.4f} fit {fit_seconds:.1f} s", flush=True)
        rows = read(args.output) + [row]  # re-read: another impl may be writing the same file
        write_csv(args.output, rows)
    frame = pd.DataFrame(read(args.output))
    if len(frame):
        print(frame.groupby("impl")["kendall"].agg(["mean", "std", "count"]).to_string(float_format=lambda v: f"{v:.4f}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("timing")
    t.add_argument("--impls", default="before,after")
    t.add_argument("--repeats", type=int, default=5)
    t.add_argument("--predict-repeats", type=int, default=None, help="default: --repeats")
    t.add_argument("--output", type=Path, default=ROOT / "results" / "act_speed.csv")
    q = sub.add_parser("quality")
    q.add_argument("--impl", choices=("before", "after"), required=True)
    q.add_argument("--seeds", default="0-9")
    q.add_argument("--output", type=Path, default=ROOT / "results" / "act_speed_quality.csv")
    args = parser.parse_args(argv)
    table = bench.load()
    (timing if args.command == "timing" else quality)(args, table)


if __name__ == "__main__":
    main()
