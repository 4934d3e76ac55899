"""How highly a predictor ranks the validation optimum: a bound on predictor-guided search.

For each dataset, predictor, training size N and seed: fit the predictor on N cells drawn at random
(np.random.default_rng(seed), the optimum never among them; metric valid, labels as fractions), score
every other cell of the space, and record the optimum's rank among them (1 = scored best; ties share
the best rank). A search that spends its evaluations on the predictor's top cells needs at least that
many evaluations after the N to reach the optimum, so a median rank near or above the budget left
means no such search reaches it in a median of that budget, however it is tuned.

    OMP_NUM_THREADS=1 python benchmarks/search_optimum_rank.py --predictors xgb-struct --sizes 50,100,200,900 --seeds 0-9

Writes results/search_optimum_rank.csv (one row per fit, with provenance; resumable: a (dataset,
predictor, n_train, seed) already there is skipped) and prints the median rank per setting.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.atomic import append_csv, read_records
from nasbench_rank.plugins import get_plugins
from nasbench_rank.provenance import provenance
from nasbench_rank.seeding import parse_ranges

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(bench.DATASETS))
    parser.add_argument("--predictors", default="xgb-struct")
    parser.add_argument("--sizes", default="50,100,200,900")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--output", type=Path, default=RESULTS / "search_optimum_rank.csv")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    table = bench.load()
    plugins = get_plugins()
    done = {(r["dataset"], r["predictor"], int(r["n_train"]), int(r["seed"])) for r in read_records(args.output)}
    for dataset in args.datasets.split(","):
        values = table.accuracy(dataset, "valid", fraction=True)
        optimum = int(np.argmax(values))
        for name in args.predictors.split(","):
            for n in (int(v) for v in args.sizes.split(",")):
                for seed in parse_ranges(args.seeds):
                    if (dataset, name, n, seed) in done:
                        continue
                    order = np.random.default_rng(seed).permutation(len(values))
                    train = order[order != optimum][:n]
                    model = plugins.predictors.create(name, seed=seed)
                    model.fit(table.cells[train], values[train])
                    scores = np.asarray(model.predict(table.cells), dtype=float)
                    rest = np.setdiff1d(np.arange(len(values)), train)
                    rank = int(rankdata(-scores[rest], method="min")[np.searchsorted(rest, optimum)])
                    row = {"dataset": dataset, "metric": "valid", "predictor": name, "n_train": n, "seed": seed,
                           "optimum_index": optimum, "optimum_rank": rank, "candidates": len(rest),
                           **provenance(table)}
                    print(f"{dataset} {name} n={n} seed {seed}: the optimum is scored {rank} of {len(rest)}", flush=True)
                    append_csv(args.output, [row])
    frame = pd.DataFrame(read_records(args.output))
    print(frame.groupby(["dataset", "predictor", "n_train"])["optimum_rank"].agg(
        ["median", "min", "max", "size"]).to_string())


if __name__ == "__main__":
    main()
