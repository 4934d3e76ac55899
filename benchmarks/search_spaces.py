"""Search in every space: the standard online setting (metric valid, 210 evaluations, online predictor
refit after every evaluation, no pretraining) on NAS-Bench-Graph and FCNet, seeds 0-19.

Settings: random, evolution, local (no predictor); `local` with `xgb` online; `topk-local local=2`
with `xgb` online (xgb with 200 trees, as in results/search_standard.csv). The settings are those of
the NAS-Bench-201 standard table (tuned there on seeds 100+); nothing was tuned on these spaces.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/search_spaces.py
    python benchmarks/search_spaces.py --datasets nbgraph:cora,fcnet:naval_propulsion --seeds 0-4
    python benchmarks/search_spaces.py --summary-only

Writes results/search_spaces.csv (one run row per setting, space, dataset and seed, with the wall
seconds of the run) and results/search_spaces_summary.csv: per setting and dataset the censored
median evaluations to the validation optimum (runs that never got there count as beyond the
budget; inf when half or more never did), the censored mean (such runs counted at budget + 1, a
lower bound) and the rate reaching it. Resumable: a (setting, space, dataset, seed) already in the
CSV is skipped. A predictor that takes no `space` setting (a predictor built for NAS-Bench-201
only) cannot run on these spaces: its settings are skipped with a note, and run when it can.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd

from nasbench_rank import atomic, spaces
from nasbench_rank.errors import UserError
from nasbench_rank.plugins import get_plugins
from nasbench_rank.loop.runs import RUN_COLUMNS, run_search, summarise
from nasbench_rank.seeding import parse_ranges as seed_range

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATASETS = ("nbgraph:cora", "nbgraph:citeseer", "nbgraph:pubmed", "nbgraph:proteins", "fcnet:naval_propulsion",
            "fcnet:parkinsons_telemonitoring", "fcnet:protein_structure", "fcnet:slice_localization")
XGB = {"n_estimators": 200}
SETTINGS = (  # (predictor, search, search_kwargs)
    (None, "random", {}),
    (None, "evolution", {}),
    (None, "local", {}),
    ("xgb", "local", {}),
    ("xgb", "topk-local", {"local": 2}),
)
BUDGET = 210


def kwargs_text(kwargs: dict) -> str:
    return ";".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


def text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def key_of(row: dict) -> tuple:
    return (text(row["space"]), text(row["predictor"]), text(row["search"]), text(row["search_kwargs"]),
            text(row["dataset"]), int(row["seed"]))


def takes_space(predictor: str, space_name: str) -> str | None:
    """None when `predictor` can run on `space_name`, else the reason it cannot."""
    model = get_plugins().predictors.create(predictor, **XGB)
    try:
        spaces.give_space(model, spaces.load(space_name).space, predictor, ())
    except UserError as exc:
        return str(exc)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS), help="space:dataset pairs, comma-separated")
    parser.add_argument("--seeds", default="0-19")
    parser.add_argument("--predictors", default="none,xgb", help="which settings to run: none and/or xgb")
    parser.add_argument("--searches", default=None, help="only these strategies (comma-separated; default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS / "search_spaces.csv")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()

    columns = RUN_COLUMNS + ("run_seconds",)
    rows = pd.read_csv(args.output).to_dict("records") if args.output.exists() else []
    pairs = [tuple(p.split(":", 1)) for p in args.datasets.split(",") if p]
    wanted = set(args.predictors.split(","))
    if not args.summary_only:
        done = {key_of(r) for r in rows}
        skipped: dict[tuple[str, str], str] = {}
        for predictor, search, search_kwargs in SETTINGS:
            if (predictor or "none") not in wanted or (args.searches and search not in args.searches.split(",")):
                continue
            for space_name, dataset in pairs:
                if predictor is not None:
                    reason = skipped.get((predictor, space_name)) or takes_space(predictor, space_name)
                    if reason:
                        if (predictor, space_name) not in skipped:
                            print(f"skipped {predictor} on {space_name}: {reason}", flush=True)
                        skipped[(predictor, space_name)] = reason
                        continue
                for seed in seed_range(args.seeds):
                    key = (space_name, predictor or "none", search, kwargs_text(search_kwargs), dataset, seed)
                    if key in done:
                        continue
                    start = time.perf_counter()
                    row, _ = run_search(predictor, search, dataset=dataset, space=space_name,
                                        mode="online" if predictor else "pretrained", budget=BUDGET, metric="valid",
                                        seed=seed, predictor_kwargs=dict(XGB) if predictor else None,
                                        search_kwargs=dict(search_kwargs) or None)
                    row["run_seconds"] = time.perf_counter() - start
                    rows.append(row)
                    done.add(key)
                    atomic.write_csv(args.output, rows, columns)
                    reached = "never" if math.isnan(row["evals_to_optimum"]) else f"{row['evals_to_optimum']:g}"
                    print(f"{predictor or 'none'} {search} {kwargs_text(search_kwargs)} {space_name}:{dataset} seed {seed}: "
                          f"evals to optimum {reached}, {row['run_seconds']:.1f} s", flush=True)

    if not rows:
        return
    frame = pd.DataFrame(rows)
    for column in ("search_kwargs", "predictor_kwargs"):
        frame[column] = frame[column].map(text)
    summary = []
    groups = ["space", "dataset", "predictor", "search", "search_kwargs", "predictor_kwargs", "mode", "metric", "oracle"]
    for values, group in frame.groupby(groups, sort=True):
        runs = group.to_dict("records")
        s = summarise(runs)
        line = {**dict(zip(groups, values)), "budget": BUDGET, "seeds": s["seeds"],
                "seed_list": ",".join(str(v) for v in sorted(group["seed"].astype(int))),
                "reached_optimum": s["reached_optimum"], "median_evals_to_optimum": s["median_evals_to_optimum"],
                "mean_evals_to_optimum_censored": s["mean_evals_to_optimum_censored"],
                "reached_threshold": s["reached_threshold"], "median_evals_to_threshold": s["median_evals_to_threshold"],
                "threshold": float(group["threshold"].iloc[0]), "report_metric": group["report_metric"].iloc[0],
                "direction": group["direction"].iloc[0], "optimum_metric": float(group["optimum_metric"].iloc[0]),
                "best_metric_median": float(pd.to_numeric(group["best_metric"]).median()),
                "run_seconds_median": float(pd.to_numeric(group["run_seconds"]).median())}
        summary.append(line)
        print(f"{line['space']}:{line['dataset']} {line['predictor']} {line['search']} {line['search_kwargs']}: "
              f"{line['seeds']} seeds, optimum reached {100 * line['reached_optimum']:.0f}%, median evals to optimum "
              f"{line['median_evals_to_optimum']:g}, censored mean {line['mean_evals_to_optimum_censored']:.1f}")
    atomic.write_csv(args.output.with_name(args.output.stem + "_summary.csv"), summary, list(summary[0]))


if __name__ == "__main__":
    main()
