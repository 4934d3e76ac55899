"""What the NAS-Bench-201 pools hold: the facts the result pages state beside every pool's numbers.

Not a grid of runs (no predictor is fitted, nothing is seeded but the splits), so it is a script and
not a spec: one pass over the table, a few seconds, deterministic.

Rows (results/pool_facts.csv, one per fact, each with the table's provenance):
- `functional_spread` per dataset (metric valid): the functional classes (`space.functional_key`:
  a `none` edge is zero, `skip_connect` is the identity, an op fed only by zero is zero, sums are
  order-free) merge cells by that expression rule, not by graph isomorphism, and trained networks of
  one class still differ. Over the classes with two or more cells: the range (max - min) of the
  accuracy within the class, its median and maximum, in points.
- `pool_size`: cells in each pool (`full`, `unique`: the first cell of each benchmark `unique_id`,
  `functional`: the cell with the lowest benchmark index in each functional class).
- `twin_share`: for the splits the grids draw (`evaluation.split`, seeds 0-9), the share of test cells
  that compute the same function as some training cell: pool full 900 / 100 (the article's),
  pool unique 900 / the rest, pool functional 900 / the rest (0 by construction).

    python benchmarks/pool_facts.py

It also writes the page that states these facts, docs/concepts/pools.md (`report.pages.pools_page`).
"""

from __future__ import annotations

import argparse

import numpy as np

from nasbench_rank import atomic
from nasbench_rank.quality.protocol import pool_indices, split
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.provenance import provenance
from nasbench_rank.report.pages import write_pools_page

SEEDS = range(10)
SPLITS = (("full", 900, 100), ("unique", 900, None), ("functional", 900, None))


def spread_rows(table: bench.Table, classes: np.ndarray) -> list[dict]:
    rows = []
    for dataset in bench.DATASETS:
        acc = np.asarray(table.accuracy(dataset, "valid"), dtype=float)
        order = np.argsort(classes, kind="stable")
        bounds = np.flatnonzero(np.diff(classes[order])) + 1
        groups = [g for g in np.split(acc[order], bounds) if len(g) > 1]
        ranges = np.array([g.max() - g.min() for g in groups])
        rows.append({"fact": "functional_spread", "dataset": dataset, "metric": "valid",
                     "classes": int(len(np.unique(classes))), "classes_with_copies": len(groups),
                     "range_median": round(float(np.median(ranges)), 4), "range_max": round(float(ranges.max()), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/pool_facts.csv")
    args = parser.parse_args()
    table = bench.load()
    classes = space.functional_classes()[0][space.ordinals(table.cells)]
    rows = spread_rows(table, classes)
    for pool in ("full", "unique", "functional"):
        rows.append({"fact": "pool_size", "pool": pool, "cells": int(len(pool_indices(table, pool)))})
    for pool, n_train, n_test in SPLITS:
        indices = pool_indices(table, pool)
        shares = []
        for seed in SEEDS:
            train, test = split(indices, n_train, n_test if n_test else len(indices) - n_train, seed)
            shares.append(float(np.isin(classes[test], classes[train]).mean()))
        rows.append({"fact": "twin_share", "pool": pool, "n_train": n_train, "n_test": n_test or "rest",
                     "seeds": f"{SEEDS.start}-{SEEDS.stop - 1}", "share_mean": round(float(np.mean(shares)), 4),
                     "share_min": round(min(shares), 4), "share_max": round(max(shares), 4)})
    prov = provenance(table)
    rows = [{**row, **prov} for row in rows]
    atomic.write_csv(args.out, rows)
    if args.out == parser.get_default("out"):
        print(f"wrote {args.out} and {write_pools_page('.')}")
    for row in rows:
        print({k: v for k, v in row.items() if k not in prov})


if __name__ == "__main__":
    main()
