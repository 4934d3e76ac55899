"""Online ACT search with warm starts: the standard setting (online, no pretraining, metric valid, test
reported, 210 evaluations), the predictor fitted once when 5 cells are known and then warm-started
(`partial_fit`) every `--warm-every` new evaluations instead of refitted from scratch.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/search_act_online.py --seeds 0-19
    python benchmarks/search_act_online.py --summary-only

Other predictors, strategies and schedules run through the same script (`--predictor`, `--search`,
`--search-set KEY=VALUE`, `--warm-every 0 --refit-every N`), e.g. the ImageNet16-120 tuning of
`incumbents` with online xgb:

    python benchmarks/search_act_online.py --predictor xgb --search local --search-set incumbents=2 \
        --warm-every 0 --refit-every 1 --datasets imagenet16 --seeds 100-119 --output results/search_local_tuning.csv

Writes results/search_act_online.csv (one run row per predictor, search, settings, schedule, dataset
and seed, with the wall seconds of the whole run) and results/search_act_online_summary.csv.
Resumable: a run already in the CSV is skipped; several processes may add to one file (each row is
added under a lock). Settings were chosen on seeds 100-102 (`--seeds 100-102
--output results/search_act_online_tuning.csv`), never on the reported seeds 0-19.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import pandas as pd

from nasbench_rank import atomic
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.cli.run import parse_settings
from nasbench_rank.loop.runs import run_search, summarise
from nasbench_rank.seeding import parse_ranges as seed_range

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATASETS = ("cifar10", "cifar100", "imagenet16")


def load(path: Path) -> list[dict]:
    """The run rows of `path` ([] when there is none); rows written before settings were recorded ran
    the defaults."""
    rows = pd.read_csv(path).to_dict("records") if path.exists() else []
    for r in rows:
        r["settings"] = r["settings"] if isinstance(r.get("settings"), str) and r["settings"] else "{}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictor", default="act-rank")
    parser.add_argument("--search", default="local")
    parser.add_argument("--seeds", default="0-19")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--warm-every", type=int, default=10)
    parser.add_argument("--refit-every", type=int, default=10**6, help="refit from scratch every N new cells "
                        "(default: never after the first fit)")
    parser.add_argument("--search-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a search setting, as in `nasbench-rank run` (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS / "search_act_online.csv")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()

    search_kwargs = parse_settings(tuple(args.search_set), "--search-set")
    settings = json.dumps(search_kwargs, sort_keys=True)
    if not args.summary_only:
        table = bench.load()
        done = {(r["predictor"], r["search"], r["settings"], r["dataset"], int(r["seed"]), int(r["warm_every"]),
                 int(r["refit_every"])) for r in load(args.output)}
        for dataset in args.datasets.split(","):
            for seed in seed_range(args.seeds):
                if (args.predictor, args.search, settings, dataset, seed, args.warm_every, args.refit_every) in done:
                    continue
                start = time.perf_counter()
                row, _ = run_search(args.predictor, args.search, dataset=dataset, mode="online", budget=210,
                                    metric="valid", seed=seed, table=table, refit_every=args.refit_every,
                                    warm_every=args.warm_every, search_kwargs=search_kwargs)
                row["run_seconds"] = time.perf_counter() - start
                row["settings"] = settings
                atomic.append_csv(args.output, [row])  # several processes may add to one file
                reached = "never" if math.isnan(row["evals_to_optimum"]) else f"{row['evals_to_optimum']:g}"
                print(f"{args.predictor} {args.search} {dataset} seed {seed}: evals to optimum {reached}, "
                      f"{row['run_seconds']:.1f} s ({row['fit_seconds_total']:.1f} s fitting, "
                      f"{row['n_warm_starts']} warm starts)", flush=True)

    frame = pd.DataFrame(load(args.output))
    summary = []
    keys = ["predictor", "search", "settings", "dataset", "warm_every", "refit_every"]
    for (predictor, search, settings, dataset, warm, refit), group in frame.groupby(keys):
        runs = group.to_dict("records")
        line = {"predictor": predictor, "search": search, "settings": settings, "dataset": dataset,
                "warm_every": warm, "refit_every": refit,
                "seed_list": ",".join(str(s) for s in sorted(group["seed"])), **summarise(runs),
                "run_seconds_median": float(group["run_seconds"].median()),
                "run_seconds_max": float(group["run_seconds"].max())}
        summary.append(line)
        print(f"{predictor} {search} {settings} warm_every={warm} refit_every={refit} {dataset}: {line['seeds']} seeds, optimum "
              f"reached {100 * line['reached_optimum']:.0f}%, median evals to optimum "
              f"{line['median_evals_to_optimum']:g} (runs that never got there count as beyond the budget), "
              f"run seconds median {line['run_seconds_median']:.1f} / max {line['run_seconds_max']:.1f}")
    if summary:
        out = args.output.with_name(args.output.stem + "_summary.csv")
        atomic.write_csv(out, summary, list(summary[0]))


if __name__ == "__main__":
    main()
