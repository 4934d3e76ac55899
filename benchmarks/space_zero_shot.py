"""Zero-shot transfer inside a space: fit on one dataset, rank every dataset of the space.

For each source dataset, predictor and seed: one fit on `n_train` elements of the source's leak-free
pool (pool functional: one element per equivalence class, every element where the space defines
none), metric `valid`, then Kendall tau on every dataset of the space without refitting. A target on
the source's space scores the rest of the source's pool; a target whose space is a subspace
(NAS-Bench-Graph's `proteins`, 5 of the 9 ops) scores its own pool outside the training elements'
classes, and a `proteins` source trains on its subspace (`evaluation.target_test`).

  results/zero_shot_<space>.csv          one row per (source, target, predictor, seed) (evaluation rows)
  results/zero_shot_<space>_matrix.csv   per predictor, source and target: seeds, median Kendall with its
                                         95% percentile-bootstrap interval (report.stats), mean, std
  results/zero_shot_<space>.png          heatmap of the median Kendall, one panel per predictor

Resumable: a fit whose rows are all in the CSV is skipped; rows are written after every fit
(atomically, `evaluation.write_rows`). Defaults: 5 seeds (0-4), n_train 900, predictors xgb and
act-mixed (--predictors), every dataset of the space as source and target (--datasets).

  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/space_zero_shot.py --space nbgraph
  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/space_zero_shot.py --space fcnet
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_rank import atomic
from nasbench_rank.errors import UserError
from nasbench_rank.quality.protocol import evaluate_unless_recorded, existing_keys, load_benchmark, read_rows

RESULTS = Path(__file__).resolve().parents[1] / "results"
PREDICTORS = ("xgb", "act-mixed")


def supported(predictors: tuple[str, ...], bm) -> tuple[str, ...]:
    """The predictors that take the benchmark's space; the others are named on stderr and left out."""
    from nasbench_rank import spaces

    keep, refused = spaces.runs_on(predictors, bm.space)
    for line in refused:
        print(line, file=sys.stderr, flush=True)
    return keep


def run(space: str, datasets: tuple[str, ...], predictors: tuple[str, ...], seeds: range, n_train: int,
        path: Path) -> None:
    """Seed-major: a run cut short has every (source, predictor) at the seeds it reached."""
    bm = load_benchmark(space)
    predictors = supported(predictors, bm)
    done = existing_keys(read_rows(path))
    for seed in seeds:
        for source in datasets:
            targets = (source,) + tuple(d for d in datasets if d != source)
            for predictor in predictors:
                settings = dict(source=source, targets=targets, pool="functional", metric="valid", score_metric="valid",
                                n_train=n_train, n_test="rest", seed=seed, protocol="functional", space=space)
                started = time.perf_counter()
                rows = evaluate_unless_recorded(path, predictor, settings, done)
                if rows is None:
                    continue
                taus = " ".join(f"{r['target']} {r['kendall']:.3f}" for r in rows)
                print(f"[{space}] {predictor} {source} seed={seed} fit {rows[0]['fit_seconds']:.1f} s "
                      f"({time.perf_counter() - started:.1f} s): {taus}", file=sys.stderr, flush=True)


def matrix(frame: pd.DataFrame, score: str = "kendall") -> pd.DataFrame:
    """Per (predictor, source, target): seeds, median [95% percentile-bootstrap interval], mean, std,
    and the median number of elements scored."""
    from nasbench_rank.report import stats

    out = []
    for (predictor, source, target), group in frame.groupby(["predictor", "source", "target"], sort=False):
        n, median, low, high = stats.median_ci(group[score])
        _, mean, std, _, _ = stats.mean_t_ci(group[score])
        out.append({"space": group["space"].iloc[0], "predictor": predictor, "source": source, "target": target,
                    "transfer": source != target, "n_train": int(group["n_train"].iloc[0]), "seeds": n,
                    f"{score}_median": median, f"{score}_median_low95": low, f"{score}_median_high95": high,
                    f"{score}_mean": mean, f"{score}_std": std, "n_scored_median": float(group["n_scored"].median())})
    return pd.DataFrame(out)


def heatmap(summary: pd.DataFrame, order: tuple[str, ...], path: Path, space: str, score: str = "kendall") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predictors = list(dict.fromkeys(summary["predictor"]))
    names = [d for d in order if d in set(summary["source"]) | set(summary["target"])]
    fig, axes = plt.subplots(1, len(predictors), figsize=(1.0 + 0.8 * len(names) * len(predictors), 0.7 * len(names) + 1.6),
                             squeeze=False)
    image = None
    for ax, predictor in zip(axes[0], predictors):
        part = summary[summary["predictor"] == predictor]
        grid = np.full((len(names), len(names)), np.nan)
        for r in part.itertuples():
            grid[names.index(r.source), names.index(r.target)] = getattr(r, f"{score}_median")
        image = ax.imshow(grid, vmin=-1, vmax=1, cmap="RdBu_r")
        for i in range(len(names)):
            for j in range(len(names)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(grid[i, j]) > 0.6 else "black")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_xlabel("target (scored)")
        ax.set_ylabel("source (fit on)")
        seeds = int(part["seeds"].min()) if len(part) else 0
        ax.set_title(f"{predictor} (n_train {int(part['n_train'].iloc[0])}, {seeds}+ seeds)", fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="median Kendall tau")
    fig.suptitle(f"{space}: zero-shot Kendall tau, leak-free pool of each target", fontsize=10)
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight"))
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", required=True, help="nbgraph, fcnet, nb201, ...")
    parser.add_argument("--datasets", default=None, help="comma-separated datasets (default: every dataset of the space)")
    parser.add_argument("--predictors", default=",".join(PREDICTORS), help="comma-separated predictors")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--n-train", type=int, default=900)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the outputs")
    parser.add_argument("--summary-only", action="store_true", help="rebuild the matrix and the plot from the rows")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    try:
        bm = load_benchmark(args.space)
        datasets = tuple(dict.fromkeys(bm.canonical_dataset(d.strip()) for d in args.datasets.split(",") if d.strip())) \
            if args.datasets else bm.datasets
        if len(datasets) < 2:
            raise UserError("name at least two datasets: zero-shot transfer needs a target other than the source")
        predictors = tuple(p.strip() for p in args.predictors.split(",") if p.strip())
        path = args.results / f"zero_shot_{args.space}.csv"
        if not args.summary_only:
            run(args.space, datasets, predictors, range(args.seeds), args.n_train, path)
    except UserError as exc:
        parser.exit(2, f"error: {exc}\n")
    frame = read_rows(path)
    frame = frame[(frame["space"] == args.space) & (frame["protocol"] == "functional")
                  & (frame["n_train"] == args.n_train) & frame["source"].isin(datasets) & frame["target"].isin(datasets)]
    if not len(frame):
        print(f"no rows in {path}")
        return
    summary = matrix(frame)
    atomic.write_csv(args.results / f"zero_shot_{args.space}_matrix.csv", summary.to_dict("records"), list(summary.columns))
    heatmap(summary, datasets, args.results / f"zero_shot_{args.space}.png", args.space)
    for predictor, part in summary.groupby("predictor", sort=False):
        wide = part.pivot(index="source", columns="target", values="kendall_median").reindex(
            index=[d for d in datasets if d in set(part["source"])], columns=[d for d in datasets if d in set(part["target"])])
        print(f"== {args.space} {predictor}: median Kendall tau over seeds (rows: fit on, columns: scored on)")
        print(wide.round(3).to_string())


if __name__ == "__main__":
    main()
