"""How many test cells of the article protocol have a twin in training (the seeds of results/article).

For each seed of the article grid (pool full, 900 train / 100 test cells), the share of test cells
with a cell of the same `unique_id` in training (an isomorphic copy, by the benchmark's own
classes) and with a cell of the same `space.functional_key` (computes the same function).
Writes results/article_leakage.csv and prints the per-seed and overall shares.

    python benchmarks/article_leakage.py [--seeds 10]
"""

from __future__ import annotations

import argparse

import numpy as np

from nasbench_rank import atomic
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.quality.protocol import pool_indices, split
from nasbench_rank.provenance import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default="results/article_leakage.csv")
    args = parser.parse_args()
    table = bench.load()
    uid = table.unique_ids()
    fkey = np.array([space.functional_key(table.cell_of(i)) for i in range(len(table))])
    rows = []
    for seed in range(args.seeds):
        train, test = split(pool_indices(table, "full"), 900, 100, seed)
        iso = float(np.isin(uid[test], uid[train]).mean())
        fun = float(np.isin(fkey[test], fkey[train]).mean())
        rows.append({"pool": "full", "n_train": 900, "n_test": 100, "seed": seed, "test_with_isomorphic_copy_in_train": iso,
                     "test_with_functional_twin_in_train": fun, **provenance(table)})
        print(f"seed {seed}: isomorphic copy in training {100 * iso:.0f}%, functional twin {100 * fun:.0f}%")
    iso = np.mean([r["test_with_isomorphic_copy_in_train"] for r in rows])
    fun = np.mean([r["test_with_functional_twin_in_train"] for r in rows])
    print(f"seeds 0-{args.seeds - 1}: {100 * iso:.1f}% of test cells have an isomorphic copy in training, "
          f"{100 * fun:.1f}% a functional twin")
    atomic.write_csv(args.out, rows)


if __name__ == "__main__":
    main()
