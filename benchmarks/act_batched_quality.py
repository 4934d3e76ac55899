"""Seeds fitted together against seeds fitted alone, full size: the `act-mixed` preset on 900 cells of
the leak-free pool (functional; CIFAR-10 valid; seed s draws the split with np.random.default_rng(s)
as `quality.protocol.split` does, and seeds the network), the rest of the pool scored.

`alone` fits each seed by itself (one network: the per-model path, the code as it was before
batching); `together` fits all the seeds in one `ACTPredictor.fit_many` call (stacked networks). Rows
(one per impl and seed: the protocol's scores, fit seconds as CPU time shared equally among the seeds
fitted together, the largest prediction difference between the two on the test cells) go to
results/act_batched_quality.csv with revision and load; a summary line gives the mean Kendall of each.
One torch thread.

  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/act_batched_quality.py --seeds 0-9
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from nasbench_rank.atomic import append_csv
from nasbench_rank.plugins import get_plugins
from nasbench_rank.provenance import provenance
from nasbench_rank.quality.protocol import pool_indices, score, split
from nasbench_rank.seeding import parse_ranges
from nasbench_rank.tables import nb201 as bench

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, POOL, SOURCE, METRIC, PRESET = 900, "functional", "cifar10", "valid", "act-mixed"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "act_batched_quality.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table = bench.load()
    seeds = parse_ranges(args.seeds)
    pool = pool_indices(table, POOL)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    splits = [split(pool, N_TRAIN, len(pool) - N_TRAIN, s) for s in seeds]
    make = lambda s: get_plugins().predictors.create(PRESET, seed=s)  # noqa: E731
    preds: dict[str, list[np.ndarray]] = {}
    cpu: dict[str, list[float]] = {}
    load: dict[str, float] = {}
    load["together"] = os.getloadavg()[0]
    started = time.process_time()
    together = make(seeds[0]).fit_many([make(s) for s in seeds], [table.cells[tr] for tr, _ in splits],
                                       [labels[tr] for tr, _ in splits])
    cpu["together"] = [(time.process_time() - started) / len(seeds)] * len(seeds)
    preds["together"] = [m.predict(table.cells[te]) for m, (_, te) in zip(together, splits)]
    load["alone"] = os.getloadavg()[0]
    preds["alone"], cpu["alone"] = [], []
    for s, (tr, te) in zip(seeds, splits):
        started = time.process_time()
        model = make(s).fit(table.cells[tr], labels[tr])
        cpu["alone"].append(time.process_time() - started)
        preds["alone"].append(model.predict(table.cells[te]))
    rows = []
    for impl in ("alone", "together"):
        for i, (s, (tr, te)) in enumerate(zip(seeds, splits)):
            diff = float(np.abs(preds["together"][i] - preds["alone"][i]).max())
            rows.append({"impl": impl, "predictor": PRESET, "pool": POOL, "metric": METRIC, "source": SOURCE,
                         "target": SOURCE, "n_train": N_TRAIN, "n_test": len(te), "seed": s,
                         **score(preds[impl][i], labels[te]), "fit_cpu_seconds": cpu[impl][i],
                         "max_abs_prediction_difference": diff, "seeds_together": len(seeds) if impl == "together" else 1,
                         "threads": 1, "load_avg_1min": load[impl], **provenance(table)})
    append_csv(args.output, rows)
    for impl in ("alone", "together"):
        k = [r["kendall"] for r in rows if r["impl"] == impl]
        print(f"{impl}: mean Kendall {np.mean(k):.4f} over seeds {args.seeds}; fit CPU {sum(cpu[impl]):.0f} s in all")
    print(f"largest prediction difference: {max(r['max_abs_prediction_difference'] for r in rows):.2e}")


if __name__ == "__main__":
    main()
