"""Kill a grid twice at random moments, resume it, and check that it ends with the leaderboard of an
uninterrupted run.

    python benchmarks/kill_resume.py [SPEC] [--workers 2] [--seed 0]

1. `nasbench-rank bench SPEC` uninterrupted into results/tmp/kill-whole, timed (T seconds).
2. The same grid into results/tmp/kill-broken: started, killed with SIGKILL after a random time in
   (0.2 T, 0.6 T), started again and stopped with SIGTERM after another random time, started again
   and one of its worker processes SIGKILLed after another random time (the run goes on: the pool is
   rebuilt and the worker's cell retried), then run to the end. After the SIGKILL of `bench` the
   script checks that no worker process of the killed run survives.
3. Both leaderboards are compared, every measure except wall-clock ones (fit and search seconds
   differ between any two runs); so are the tidy rows.

One row per step goes to results/kill_resume.csv (written atomically; rerunning replaces the rows of
the same spec, seed and package version).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "kill_resume.csv"


def command(spec: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "nasbench_rank", "bench", str(spec), "--out", str(out),
            "--workers", str(workers), "--no-progress"]


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def interrupted_run(spec: Path, out: Path, workers: int, after: float, sig: signal.Signals) -> dict:
    """Start the grid, send `sig` after `after` seconds; report what was finished and what survived."""
    proc = subprocess.Popen(command(spec, out, workers), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(after)
    workers_before = children_of(proc.pid)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    time.sleep(2.0)  # orphaned workers poll for their parent twice a second
    survivors = [p for p in workers_before if alive(p)]
    from nasbench_rank.grid.harness import finished_ids

    return {"signal": sig.name, "kill_after_s": round(after, 2), "exit_code": proc.returncode,
            "cells_finished": len(finished_ids(ROOT / out)), "surviving_workers": len(survivors),
            "message": next((line for line in err.splitlines() if line.startswith("interrupted")), "")}


def worker_killed_run(spec: Path, out: Path, workers: int, after: float) -> dict:
    """Start the grid, SIGKILL one worker process after `after` seconds, let the run end."""
    proc = subprocess.Popen(command(spec, out, workers), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(after)
    pool = [p for p in children_of(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
    if pool:
        os.kill(pool[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    from nasbench_rank.grid.harness import finished_ids

    failed = [line for line in err.splitlines() if line.startswith("failed ")]
    return {"signal": "SIGKILL worker" if pool else "none (no worker yet)", "kill_after_s": round(after, 2),
            "exit_code": proc.returncode, "cells_finished": len(finished_ids(ROOT / out)),
            "message": f"{len(failed)} cells failed" + (f": {failed[0]}" if failed else "")}


def comparable(out: Path) -> dict[str, pd.DataFrame]:
    """Leaderboards and tidy rows of a run, without wall-clock columns and bookkeeping that names the run."""
    from nasbench_rank import report as leaderboard

    records = leaderboard.finished_records(out)
    tables = leaderboard.frames(records)
    boards = leaderboard.leaderboards(tables)
    clocks = set(leaderboard.TIMING_MEASURES)
    result = {f"leaderboard_{k}": b[~b["measure"].isin(clocks)].reset_index(drop=True) for k, b in boards.items()}
    for kind, frame in tables.items():
        keep = [c for c in frame.columns if c not in clocks]
        result[f"rows_{kind}"] = frame[keep].sort_values(["cell_id"] + [c for c in ("target", "eval") if c in keep],
                                                         kind="stable").reset_index(drop=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default="benchmarks/medium.toml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random kill times")
    args = parser.parse_args()
    import nasbench_rank
    from nasbench_rank.grid import spec as spec_module

    spec_path = ROOT / args.spec
    spec = spec_module.load(spec_path)
    rng = np.random.default_rng(args.seed)
    whole, broken = (Path("results") / "tmp" / f"kill-{spec.name}-{n}" for n in ("whole", "broken"))  # under ROOT
    for path in (whole, broken):
        shutil.rmtree(ROOT / path, ignore_errors=True)
    base = {"spec": spec.name, "cells": len(spec), "workers": args.workers, "seed": args.seed,
            "version": nasbench_rank.__version__}
    rows = []

    start = time.perf_counter()
    done = subprocess.run(command(spec_path, whole, args.workers), cwd=ROOT, capture_output=True, text=True)
    total = time.perf_counter() - start
    rows.append({**base, "step": "uninterrupted", "signal": "", "kill_after_s": np.nan, "exit_code": done.returncode,
                 "cells_finished": len(spec), "wall_seconds": round(total, 2)})
    print(f"uninterrupted: {len(spec)} cells in {total:.1f} s (exit {done.returncode})")

    for step, sig in (("kill 1", signal.SIGKILL), ("kill 2", signal.SIGTERM)):
        after = float(rng.uniform(0.2, 0.6) * total)
        row = interrupted_run(spec_path, broken, args.workers, after, sig)
        rows.append({**base, "step": step, **row})
        print(f"{step}: {sig.name} after {after:.1f} s -> exit {row['exit_code']}, {row['cells_finished']}/{len(spec)} "
              f"cells finished, {row['surviving_workers']} worker processes survived; {row['message']}")

    after = float(rng.uniform(0.1, 0.3) * total)
    row = worker_killed_run(spec_path, broken, args.workers, after)
    rows.append({**base, "step": "kill 3", **row})
    print(f"kill 3: {row['signal']} after {after:.1f} s -> exit {row['exit_code']}, {row['cells_finished']}/{len(spec)} "
          f"cells finished; {row['message']}")

    start = time.perf_counter()
    resumed = subprocess.run(command(spec_path, broken, args.workers), cwd=ROOT, capture_output=True, text=True)
    last = resumed.stdout.strip().splitlines()[-1] if resumed.stdout.strip() else resumed.stderr.strip()
    a, b = comparable(ROOT / whole), comparable(ROOT / broken)
    equal = {name: a[name].equals(b[name]) for name in a}
    rows.append({**base, "step": "resume", "signal": "", "exit_code": resumed.returncode, "cells_finished": len(spec),
                 "wall_seconds": round(time.perf_counter() - start, 2), "message": last,
                 "leaderboard_equal": all(v for k, v in equal.items() if k.startswith("leaderboard")),
                 "rows_equal": all(v for k, v in equal.items() if k.startswith("rows"))})
    print(f"resume: {last}")
    for name, same in equal.items():
        print(f"  {name:<22} {'equal' if same else 'DIFFERENT'} ({len(a[name])} rows)")

    frame = pd.DataFrame(rows)
    if OUT.is_file():
        old = pd.read_csv(OUT)
        same_run = (old["spec"] == spec.name) & (old["seed"] == args.seed) & (old["version"].astype(str) == base["version"])
        frame = pd.concat([old[~same_run], frame], ignore_index=True)
    from nasbench_rank import atomic

    atomic.write_with(OUT, lambda tmp: frame.to_csv(tmp, index=False))
    print(f"wrote {OUT.relative_to(ROOT)}")
    if not all(equal.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
