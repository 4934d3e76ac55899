"""Predictor quality under the two protocols, and a learning curve; resumable, one CSV per part.

  a  article:        pool full, 900 train / 100 test, metric test, fit on CIFAR-10, scored on
                     CIFAR-10, CIFAR-100, ImageNet16-120 (zero-shot)      -> results/quality_article.csv
  b  literature:     pool unique, 900 train / all the rest, metric valid, same targets
                                                                          -> results/quality_unique.csv
  c  learning curve: pool unique, n_train in 50..2000 / all the rest, metric valid, CIFAR-10
                                                                          -> results/learning_curve.csv
Each part also writes <name>_summary.csv (mean, std, n over seeds). Rows already in a CSV are skipped,
so the script can be run in pieces (--parts, --predictors, --seeds) and rerun after an interruption;
--set KEY=VALUE passes predictor settings (they name the rows, so tuned and default runs coexist):

  nice -n 10 python benchmarks/predictor_quality.py --parts a,b --predictors xgb,mlp-mse
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.cli.eval import parse_settings
from nasbench_rank.quality.protocol import (evaluate_predictor, existing_keys, read_rows, resolve_protocol,
    summarize, write_rows)

TARGETS = ("cifar10", "cifar100", "imagenet16")


@dataclass(frozen=True)
class Part:
    name: str  # names the CSV and fills the rows' `protocol` column
    predictors: tuple[str, ...]
    pool: str
    metric: str
    n_train: tuple[int, ...]
    n_test: int | str
    targets: tuple[str, ...]
    seeds: int


PARTS = {
    "a": Part("quality_article", ("act-mse", "act-rank", "act-mixed", "xgb", "xgb-rank", "mlp-mse", "mlp-mixed"),
              "full", "test", (900,), 100, TARGETS, 10),
    "b": Part("quality_unique", ("act-mse", "act-rank", "act-mixed", "xgb", "xgb-rank", "mlp-mse", "mlp-mixed"),
              "unique", "valid", (900,), "rest", TARGETS, 10),
    "c": Part("learning_curve", ("act-mixed", "xgb"), "unique", "valid", (50, 100, 200, 400, 900, 2000), "rest",
              ("cifar10",), 5),
}


def run_part(part: Part, predictors: tuple[str, ...], seeds: range, results: Path, table: bench.Table,
             predictor_kwargs: dict) -> pd.DataFrame:
    path = results / f"{part.name}.csv"
    done = existing_keys(read_rows(path))
    for predictor in predictors:
        for n_train in part.n_train:
            for seed in seeds:
                settings = dict(source="cifar10", targets=part.targets, pool=part.pool, n_train=n_train,
                                n_test=part.n_test, metric=part.metric, seed=seed, predictor_kwargs=predictor_kwargs)
                if set(resolve_protocol(predictor, table=table, **settings).keys()) <= done:
                    continue
                started = time.perf_counter()
                rows = evaluate_predictor(predictor, table=table, **settings)
                write_rows(path, [{**r, "protocol": part.name} for r in rows])
                scores = "  ".join(f"{r['target']} tau {r['kendall']:.3f}" for r in rows)
                print(f"[{part.name}] {predictor} n_train={n_train} seed={seed}: fit {rows[0]['fit_seconds']:.1f} s, "
                      f"{scores} ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    frame = read_rows(path)
    summary = summarize(frame)
    if len(summary):
        summary.insert(0, "protocol", part.name)
        summary["version"] = ",".join(sorted(frame["version"].astype(str).unique()))
        write_rows_plain(results / f"{part.name}_summary.csv", summary)
    return summary


def write_rows_plain(path: Path, frame: pd.DataFrame) -> None:
    """A derived table is rewritten whole (atomically): it is always recomputed from the rows."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def show(summary: pd.DataFrame) -> None:
    if not len(summary):
        return
    cols = ["predictor", "target", "n_train", "n_test", "n"]
    if (summary["predictor_kwargs"].astype(str) != "{}").any():
        cols.insert(1, "predictor_kwargs")
    view = summary[cols].copy()
    for s in ("spearman", "kendall", "precision_top5pct", "fit_seconds"):
        view[s] = [f"{m:.3f} ± {sd:.3f}" for m, sd in zip(summary[f"{s}_mean"], summary[f"{s}_std"])]
    print(view.to_string(index=False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="a,b,c", help="comma-separated subset of a,b,c")
    parser.add_argument("--predictors", default=None,
                        help="comma-separated predictors to run instead of each part's list")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per setting (default: 10 for a, b; 5 for c)")
    parser.add_argument("--seed-start", type=int, default=0)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="predictor setting for every predictor run (recorded in the rows), repeatable")
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; known: {', '.join(PARTS)}")
    table = bench.load()
    for key in parts:
        part = PARTS[key]
        predictors = tuple(args.predictors.split(",")) if args.predictors else part.predictors
        seeds = range(args.seed_start, args.seed_start + (args.seeds or part.seeds))
        print(f"== part {key}: {part.name} (pool {part.pool}, metric {part.metric}, n_train {part.n_train}, "
              f"n_test {part.n_test}, seeds {seeds.start}..{seeds.stop - 1})")
        show(run_part(part, predictors, seeds, args.results, table, parse_settings(tuple(args.settings))))


if __name__ == "__main__":
    main()
