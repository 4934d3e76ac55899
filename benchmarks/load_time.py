"""Time `import nasbench_rank` and loading + validating the NB201 table, each in a fresh process.

    python benchmarks/load_time.py [--runs 7]

Prints the medians and writes results/load_time.csv (one row per measurement kind).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PROBES = {
    "import_nasbench_rank": "import time; t = time.perf_counter(); import nasbench_rank; print(time.perf_counter() - t)",
    "import_cli_and_plugins": (
        "import time; t = time.perf_counter(); import nasbench_rank.cli; "
        "from nasbench_rank.plugins import get_plugins; get_plugins(); print(time.perf_counter() - t)"
    ),
    "load_table": (
        "from nasbench_rank import bench; import time; t = time.perf_counter(); bench.load(); print(time.perf_counter() - t)"
    ),
}


def measure(code: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
        out.append(float(proc.stdout.strip()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import nasbench_rank

    rows = []
    for name, code in PROBES.items():
        times = measure(code, args.runs)
        rows.append({"what": name, "median_seconds": statistics.median(times), "min_seconds": min(times),
                     "max_seconds": max(times), "runs": args.runs, "version": nasbench_rank.__version__})
        print(f"{name:<24} median {statistics.median(times) * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, {args.runs} runs)")
    out = ROOT / "results" / "load_time.csv"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".csv.tmp")
    pd.DataFrame(rows).to_csv(tmp, index=False)
    tmp.replace(out)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
