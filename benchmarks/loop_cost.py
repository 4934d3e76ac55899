"""The search loop's cost per evaluation, with plugins in their own process and in-process.

A script, not a grid: it measures the framework's own overhead (wall-clock seconds per evaluation)
rather than a search result. Settings (NAS-Bench-201 CIFAR-10, validation metric, 210 evaluations,
seeds 0-2, one thread):

- `random`: random search, no predictor (every ask and tell crosses the pipe);
- `topk+xgb`: the article's top-k search scoring 100 cells a round with the built-in `xgb`
  predictor pretrained on 100 cells (the predictor stays in the framework; scores cross the pipe);
- `topk+ridge`: top-k with the example third-party predictor `ridge`, online, refitted after every
  evaluation (in isolated mode the predictor runs in a process of its own too: every fit and predict
  crosses a pipe).

Each setting runs once untimed first (imports, the fork server's start), then once per seed. Rows:
`wall_seconds_per_eval` (the whole `run_search` call, start-up of its plugin processes included, over
its evaluations), `search_seconds_per_eval` (the row's own column: without predictor fits),
`fit_seconds_total`, the load average while it ran, and the code revision. With a checkout without
isolation (the code before it), pass `--before`: only in-process runs, labelled `before`.

    OMP_NUM_THREADS=1 python benchmarks/loop_cost.py --out results/loop_cost/after.csv [--before]
    python benchmarks/loop_cost.py --summarise results/loop_cost    # -> summary.md from every CSV there
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

SETTINGS = {
    "random": dict(predictor=None, search="random"),
    "topk+xgb": dict(predictor="xgb", search="topk", mode="pretrained", n_train=100,
                     predictor_kwargs={"n_estimators": 50, "max_depth": 4, "n_jobs": 1}),
    "topk+ridge": dict(predictor="ridge", search="topk", mode="online"),
}
COLUMNS = ("label", "setting", "isolation", "seed", "evals", "wall_seconds", "wall_seconds_per_eval",
           "search_seconds_per_eval", "fit_seconds_total", "n_fits", "best_index", "load_average", "source_revision",
           "package_version")


def summarise(folder: Path) -> str:
    """A Markdown table of the medians over seeds of every CSV in `folder` (written as summary.md)."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    lines = ["| code | setting | isolation | seeds | wall ms/eval (median) | ms/eval without fits (median) | "
             "load average (median) | revision |", "|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["setting"], r["isolation"], r["source_revision"]), []).append(r)
    for (label, setting, mode, revision), sel in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0] != "before", kv[0][2])):
        med = lambda c: float(np.median([float(r[c]) for r in sel]))  # noqa: E731
        lines.append(f"| {label} | {setting} | {mode} | {len(sel)} | {med('wall_seconds_per_eval') * 1e3:.2f} | "
                     f"{med('search_seconds_per_eval') * 1e3:.2f} | {med('load_average'):.1f} | {revision[:12]} |")
    text = "\n".join(lines) + "\n"
    (folder / "summary.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summarise", type=Path, metavar="FOLDER", help="write FOLDER/summary.md and stop")
    parser.add_argument("--before", action="store_true", help="the code has no isolation: in-process runs only")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=210)
    args = parser.parse_args()
    if args.summarise is not None:
        print(summarise(args.summarise), end="")
        return
    if args.out is None:
        parser.error("--out is required")
    try:
        from nasbench_rank.loop.runs import run_search
    except ImportError:
        from nasbench_rank.search import run_search
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    modes = [None] if args.before else ["in-process", "process"]
    rows = []
    for name, setting in SETTINGS.items():
        for mode in modes:
            kwargs = dict(setting, dataset="cifar10", budget=args.budget)
            if mode is not None:
                kwargs["isolation"] = mode
            run_search(seed=100, **kwargs)  # untimed: imports, caches, the fork server
            for seed in range(args.seeds):
                start = time.perf_counter()
                row, _ = run_search(seed=seed, **kwargs)
                wall = time.perf_counter() - start
                rows.append({"label": "before" if args.before else "after", "setting": name,
                             "isolation": row.get("isolation", "in-process"), "seed": seed, "evals": row["evals"],
                             "wall_seconds": wall, "wall_seconds_per_eval": wall / row["evals"],
                             "search_seconds_per_eval": row["search_seconds_per_eval"],
                             "fit_seconds_total": row["fit_seconds_total"], "n_fits": row["n_fits"],
                             "best_index": row["best_index"], "load_average": os.getloadavg()[0],
                             "source_revision": row["source_revision"], "package_version": row["package_version"]})
                r = rows[-1]
                print(f"{r['label']:6s} {name:11s} {r['isolation']:10s} seed {seed}: {r['wall_seconds_per_eval'] * 1e3:7.2f} "
                      f"ms/eval (search {r['search_seconds_per_eval'] * 1e3:6.2f}, fits {r['fit_seconds_total']:.2f} s), "
                      f"load {r['load_average']:.1f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    for name in SETTINGS:
        for mode in sorted({r["isolation"] for r in rows}):
            sel = [r for r in rows if r["setting"] == name and r["isolation"] == mode]
            if sel:
                print(f"median {name:11s} {mode:10s}: {np.median([r['wall_seconds_per_eval'] for r in sel]) * 1e3:.2f} ms/eval "
                      f"wall, {np.median([r['search_seconds_per_eval'] for r in sel]) * 1e3:.2f} ms/eval without fits")


if __name__ == "__main__":
    main()
