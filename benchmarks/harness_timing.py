"""Wall time of a grid with 1 and 2 workers (the parallel speed-up) and of resuming a finished grid.

    python benchmarks/harness_timing.py [SPEC ...] [--workers 1 2] [--force]
    python benchmarks/harness_timing.py --expansion [SEEDS ...]   # spec check + expansion time

Each measurement runs `nasbench-rank bench SPEC --workers N` from scratch in its own process into
results/tmp/ (start-up, spawning workers and loading the table included: what a user waits for),
then reruns it on the finished directory (nothing left to do: the cost of resuming). Beside the wall
time, each row has the time the run spent in its grid loop and the sum of the cells' own run times
(from the cell records): when cells run slower with 2 workers than with 1, the cores were not free. Rows go to
results/harness_timing.csv, one per (spec, workers, phase); rows already there for this package
version are kept and not measured again unless --force. The machine's load average is recorded
beside each row, because other processes share the cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "harness_timing.csv"
KEY = ["spec", "workers", "phase", "version"]


def bench(spec: Path, out: Path, workers: int) -> tuple[float, int]:
    """Seconds of one `nasbench-rank bench` run and its exit code."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nasbench_rank", "bench", str(spec), "--out", str(out),
                           "--workers", str(workers), "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bench failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds, proc.returncode


def cell_seconds(out: Path) -> tuple[float, float]:
    """(sum of the cells' own run times, seconds the last run spent in its grid loop) from the records:
    with W busy workers and free cores, wall time ~ cell time / W; on shared cores cells slow down."""
    import json

    cells = sum(json.loads(p.read_text())["seconds"] for p in (out / "cells").glob("*.json"))
    last = max((out / "runs").glob("*.json"), key=lambda p: json.loads(p.read_text())["started_at"] + p.name)
    return cells, json.loads(last.read_text())["seconds"]


def write(rows: pd.DataFrame, path: Path = OUT) -> None:
    from nasbench_rank import atomic

    atomic.write_with(path, lambda tmp: rows.to_csv(tmp, index=False))


EXPANSION_OUT = ROOT / "results" / "spec_expansion.csv"


def expansion(counts: list[int], repeats: int = 3) -> None:
    """Seconds to check and expand a one-block spec of N seeds (median of `repeats`), in this process:
    linear expansion means seconds per cell stays flat as N grows."""
    import nasbench_rank
    from nasbench_rank.grid import spec as spec_module
    from nasbench_rank.plugins import get_plugins

    plugins = get_plugins()
    rows = []
    for n in counts:
        data = {"eval": [{"predictors": ["xgb"], "seeds": n}]}
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            cells, problems = spec_module.expand(data, plugins=plugins)
            times.append(time.perf_counter() - start)
        median = sorted(times)[len(times) // 2]
        rows.append({"seeds": n, "cells": len(cells), "problems": len(problems), "median_seconds": round(median, 4),
                     "microseconds_per_cell": round(1e6 * median / len(cells), 2) if cells else float("nan"), "repeats": repeats,
                     "load_avg_1min": round(os.getloadavg()[0], 2), "version": nasbench_rank.__version__})
        print(f"{n:>7} seeds: {len(cells):>7} cells in {median:.3f} s (median of {repeats}), "
              f"{rows[-1]['microseconds_per_cell']} us per cell" + (f"; refused: {problems[0].strip()}" if problems else ""))
    write(pd.DataFrame(rows), EXPANSION_OUT)
    print(f"wrote {EXPANSION_OUT.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=["benchmarks/smoke.toml", "benchmarks/medium.toml"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--force", action="store_true", help="measure again rows that already exist")
    parser.add_argument("--expansion", type=int, nargs="*", default=None, metavar="SEEDS",
                        help="instead: time the spec check and expansion for these seed counts "
                             "(default 2000 8000 50000 100000 200000) -> results/spec_expansion.csv")
    args = parser.parse_args()
    if args.expansion is not None:
        expansion(args.expansion or [2000, 8000, 50000, 100000, 200000])
        return
    import nasbench_rank
    from nasbench_rank.grid import spec as spec_module

    version = nasbench_rank.__version__
    existing = pd.read_csv(OUT) if OUT.is_file() else pd.DataFrame(columns=KEY)
    rows = existing.to_dict("records")
    have = {tuple(str(r[k]) for k in KEY) for r in rows}
    for spec_path in args.specs:
        spec = spec_module.load(ROOT / spec_path)
        for workers in args.workers:
            key = (spec.name, str(workers), "fresh", version)
            if key in have and not args.force:
                print(f"{spec.name} workers={workers}: already measured (use --force)")
                continue
            out = ROOT / "results" / "tmp" / f"timing-{spec.name}-w{workers}"
            shutil.rmtree(out, ignore_errors=True)
            load = os.getloadavg()[0]
            fresh, code = bench(ROOT / spec_path, out, workers)
            cell_sum, fresh_grid = cell_seconds(out)
            resume, _ = bench(ROOT / spec_path, out, workers)
            _, resume_grid = cell_seconds(out)
            rows = [r for r in rows if not (r["spec"] == spec.name and int(r["workers"]) == workers
                                            and str(r["version"]) == version)]
            for phase, seconds, grid in (("fresh", fresh, fresh_grid), ("resume", resume, resume_grid)):
                rows.append({"spec": spec.name, "cells": len(spec), "workers": workers, "phase": phase,
                             "wall_seconds": round(seconds, 3), "grid_seconds": round(grid, 3),
                             "cell_seconds_sum": round(cell_sum, 3) if phase == "fresh" else 0.0,
                             "exit_code": code, "load_avg_1min": round(load, 2), "cpu_count": os.cpu_count(),
                             "version": version})
            print(f"{spec.name:<8} {len(spec):4d} cells  workers={workers}  fresh {fresh:7.2f} s (grid loop {fresh_grid:.2f} s,"
                  f" cells' own time {cell_sum:.2f} s)  resume {resume:5.2f} s (grid loop {resume_grid:.3f} s)"
                  f"  load average before: {load:.2f}")
            write(pd.DataFrame(rows))
    table = pd.DataFrame(rows)
    fresh = table[(table["phase"] == "fresh") & (table["version"].astype(str) == version)]
    for name, part in fresh.groupby("spec"):
        by = dict(zip(part["workers"].astype(int), part["wall_seconds"].astype(float)))
        if 1 in by and 2 in by:
            print(f"{name}: speed-up with 2 workers {by[1] / by[2]:.2f}x ({by[1]:.2f} s -> {by[2]:.2f} s)")
    write(table)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
