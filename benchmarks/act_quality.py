"""ACT presets on the leak-free protocol, in the standard evaluation rows (`evaluation.evaluate_predictor`):
pool `functional` (one cell per functional class, 4,930 cells), `n_train` cells drawn with
`np.random.default_rng(seed)`, every other pool cell as test cell, CIFAR-10 `valid`, scored on CIFAR-10.
Each row adds provenance and what the model learned from: `labelled_cells` (= n_train) and
`unlabelled_cells` (cells seen without their label; 0 for these presets, which read only the training
cells and their functional copies' structure, no copy's label).

  nice -n 10 python benchmarks/act_quality.py --predictors act-mixed,act-rank --n-train 100,400,900 \
      --seeds 0-9 --output results/quality_functional_act.csv

Resumable: rows whose protocol key is already in the output are skipped; each row is merged into the
output as soon as it is done (`evaluation.write_rows`: locked, atomic).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.quality.protocol import (evaluate_predictor, existing_keys, read_rows, resolve_protocol,
    summarize, write_rows)
from nasbench_rank.provenance import provenance
from nasbench_rank.seeding import parse_ranges as parse_ints

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictors", default="act-mixed,act-rank")
    parser.add_argument("--n-train", default="100,400,900")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "quality_functional_act.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table = bench.load()
    settings = dict(pool="functional", n_test="rest", metric="valid", source="cifar10", targets=("cifar10",))
    for n_train in parse_ints(args.n_train):
        for name in [p for p in args.predictors.split(",") if p]:
            for seed in parse_ints(args.seeds):
                protocol = resolve_protocol(name, n_train=n_train, seed=seed, table=table, **settings)
                if set(protocol.keys()) <= existing_keys(read_rows(args.output)):
                    continue
                rows = evaluate_predictor(name, n_train=n_train, seed=seed, table=table, **settings)
                rows = [{**r, "labelled_cells": n_train, "unlabelled_cells": 0,
                         "load_avg_1min": os.getloadavg()[0], **provenance(table)} for r in rows]
                print(f"{name} n {n_train} seed {seed}: kendall {rows[0]['kendall']:.4f} "
                      f"fit {rows[0]['fit_seconds']:.1f} s", flush=True)
                write_rows(args.output, rows)
    frame = read_rows(args.output)
    if len(frame):
        print(summarize(frame)[["predictor", "n_train", "n", "kendall_mean", "kendall_std"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
