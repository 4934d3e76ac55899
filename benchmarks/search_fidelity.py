"""Multi-fidelity, simulated workers and Optuna in the search loop (metric valid, test reported).

Parts (`--part`):
- tune: candidate settings of the multi-fidelity strategies on seeds 100-109 only (never reported).
- fidelity: multi-fidelity strategies against the best single-fidelity strategy (`local`, see
  results/search_summary.csv), all under one GPU-hour budget per dataset: the GPU-hours of 210
  full (200-epoch) evaluations of the average cell. Reports GPU-hours to the validation optimum.
- fidelity-xgb, fidelity-act: the same with a predictor (online xgb; online act-rank warm-started
  every 10 new 200-epoch results, which orders `local`'s neighbours and picks the neighbours
  `halving-local` screens); tune-act chose `screen` on seeds 100-109.
- workers: K = 1 and K = 8 simulated workers under the same GPU-hour budget, per strategy; reports
  simulated wall-clock hours to the optimum.
- optuna: the Optuna samplers in the standard setting (online, no pretraining, 210 evaluations).

"To the optimum" figures are censored medians: a run that never reached the optimum counts as
beyond the budget (inf); a median of inf means half or more never got there. With every run
censored at the end of the budget, after any run's event, this is the Kaplan-Meier median.

    nice -n 10 python benchmarks/search_fidelity.py --part tune
    nice -n 10 python benchmarks/search_fidelity.py --part fidelity,workers
    nice -n 10 python benchmarks/search_fidelity.py --part fidelity-xgb     # `local` with online xgb, same budget
    nice -n 10 python benchmarks/search_fidelity.py --part tune-act --datasets cifar10   # act-rank: local, halving-local
    nice -n 10 python benchmarks/search_fidelity.py --part fidelity-act --datasets cifar100
    nice -n 10 python benchmarks/search_fidelity.py --part optuna --searches tpe-mv,random,qmc,tpe
    python benchmarks/search_fidelity.py --report          # the README tables

Writes results/search_fidelity.csv, search_workers_sim.csv, search_optuna.csv,
search_fidelity_tuning.csv (one row per run) and *_summary.csv beside them. Resumable: a run whose
(setting, search, settings, dataset, workers, seed) is already in the file is skipped.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import pandas as pd

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.atomic import append_csv, read_records, write_csv
from nasbench_rank.loop.runs import censored_median, run_search

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATASETS = ("cifar10", "cifar100", "imagenet16")
SEEDS = range(20)
TUNE_SEEDS = range(100, 110)
FULL_EVALS = 210  # the GPU-hour budget is that of this many 200-epoch evaluations of the average cell
FILES = {"tune": "search_fidelity_tuning.csv", "fidelity": "search_fidelity.csv", "fidelity-xgb": "search_fidelity.csv",
         "tune-act": "search_fidelity_tuning.csv", "fidelity-act": "search_fidelity.csv",
         "workers": "search_workers_sim.csv",
         "optuna": "search_optuna.csv"}

# (search, settings) per part; runs without a predictor, except FIDELITY_XGB.
TUNE = [
    ("halving-local", {"eta": 3}), ("halving-local", {"eta": 6}), ("halving-local", {"eta": 12}),
    ("halving-local", {"eta": 3, "n": 48}), ("halving", {"eta": 3}), ("halving", {"n": 96, "eta": 8}),
    ("halving-local", {"eta": 4}), ("halving-local", {"eta": 8}), ("halving-local", {"n": 12}),
    ("halving-local", {"n": 12, "eta": 4}),
]
FIDELITY = [("local", {}), ("halving-local", {}), ("halving", {})]
# The best single-fidelity strategy with a predictor: online xgb orders local search's neighbours,
# refit every 5 new 200-epoch results (n_estimators=200, as in search_bench.py).
FIDELITY_XGB = {"predictor": "xgb", "mode": "online", "predictor_kwargs": {"n_estimators": 200}, "refit_every": 5}
# The best single-fidelity strategy of the standard setting (results/search_act_online.csv): `local`
# ordered by online act-rank, fitted once 5 cells are known, warm-started every 10 new 200-epoch
# results. tune-act also gives halving-local that predictor (which neighbours to screen, `screen`; the
# order of promotions, `promote`).
ACT = {"predictor": "act-rank", "mode": "online", "refit_every": 10**6, "warm_every": 10}
TUNE_ACT = [("local", {}), ("halving-local", {}), ("halving-local", {"screen": 4}), ("halving-local", {"screen": 8}),
            ("halving-local", {"promote": "mix"}), ("halving-local", {"promote": "mix", "screen": 8}),
            ("halving-local", {"screen": 12}), ("halving-local", {"screen": 16})]
FIDELITY_ACT = [("local", {})]  # halving-local with act-rank: no setting beat the plain one on seeds 100-109
WORKERS = [("random", {}), ("local", {}), ("evolution", {}), ("halving-local", {}), ("halving", {}),
           ("optuna", {"sampler": "tpe", "multivariate": True})]
OPTUNA = {"tpe": {"sampler": "tpe"}, "tpe-mv": {"sampler": "tpe", "multivariate": True},
          "random": {"sampler": "random"}, "qmc": {"sampler": "qmc"}, "gp": {"sampler": "gp"}}


def kwargs_text(kwargs: dict) -> str:
    return ";".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


def gpu_hour_budget(table: bench.Table, dataset: str) -> float:
    return round(float(table.train_seconds(dataset).mean()) * FULL_EVALS / 3600.0, 3)


def jobs(part: str, optuna: list[str], table: bench.Table, datasets: tuple[str, ...] = DATASETS) -> list[dict]:
    """The runs of `part`, strategy by strategy (so that a partial file holds whole strategies)."""
    hours = {d: gpu_hour_budget(table, d) for d in DATASETS}
    grid = {"tune": TUNE, "fidelity": FIDELITY, "workers": WORKERS}.get(part)
    if part in ("tune-act", "fidelity-act"):
        grid, seeds = (TUNE_ACT, TUNE_SEEDS) if part == "tune-act" else (FIDELITY_ACT, SEEDS)
        return [dict(search=s, kw=kw, dataset=d, budget=None, gpu_hours=hours[d], workers=1, seed=seed, run=ACT)
                for s, kw in grid for d in datasets for seed in seeds]
    if part == "fidelity-xgb":
        return [dict(search="local", kw={}, dataset=d, budget=None, gpu_hours=hours[d], workers=1, seed=seed,
                     run=FIDELITY_XGB) for d in DATASETS for seed in SEEDS]
    if part == "optuna":
        return [dict(search="optuna", kw=OPTUNA[name], dataset=d, budget=210, gpu_hours=None, workers=1, seed=seed)
                for name in optuna for d in datasets for seed in SEEDS]
    seeds = TUNE_SEEDS if part == "tune" else SEEDS
    ks = (1, 8) if part == "workers" else (1,)
    return [dict(search=s, kw=kw, dataset=d, budget=None, gpu_hours=hours[d], workers=k, seed=seed)
            for s, kw in grid for d in DATASETS for k in ks for seed in seeds]


def key(setting: str, predictor: str, search: str, kw: str, dataset: str, workers: int, seed: int) -> tuple:
    return (setting, predictor, search, kw, dataset, int(workers), int(seed))


def run_part(part: str, optuna: list[str], table: bench.Table, datasets: tuple[str, ...] = DATASETS) -> Path:
    path = RESULTS / FILES[part]
    rows = read_records(path)
    done = {key(r["setting"], r["predictor"], r["search"], str(r["search_kwargs"]), r["dataset"], r["workers"], r["seed"])
            for r in rows}
    todo = [j for j in jobs(part, optuna, table, datasets)
            if key(part, j.get("run", {}).get("predictor", "none"), j["search"], kwargs_text(j["kw"]), j["dataset"],
                   j["workers"], j["seed"]) not in done]
    print(f"{part}: {len(todo)} runs to do, {len(rows)} done", flush=True)
    for i, j in enumerate(todo):
        start = time.perf_counter()
        extra = dict(j.get("run", {}))
        predictor = extra.pop("predictor", None)
        run, _ = run_search(predictor, j["search"], dataset=j["dataset"], budget=j["budget"], gpu_hours=j["gpu_hours"],
                            workers=j["workers"], seed=j["seed"], search_kwargs=j["kw"], table=table, **extra)
        append_csv(path, [{"setting": part, **run}])  # several processes may add to one file
        print(f"[{i + 1}/{len(todo)}] {j['search']} {kwargs_text(j['kw'])} {j['dataset']} K={j['workers']} "
              f"seed {j['seed']}: gpu_h_to_opt {run['gpu_hours_to_optimum']:.1f} "
              f"({time.perf_counter() - start:.1f}s)", flush=True)
    return path


def summarise(part: str) -> pd.DataFrame | None:
    path = RESULTS / FILES[part]
    if not path.exists():
        return None
    runs = pd.read_csv(path, dtype={"search_kwargs": str})
    runs["search_kwargs"] = runs["search_kwargs"].fillna("")
    out = []
    for (_, search, kw, dataset, workers), g in runs.groupby(["predictor", "search", "search_kwargs", "dataset", "workers"],
                                                             sort=False):
        nums = lambda c: [float(v) for v in g[c]]  # noqa: E731 (NaN: never reached)
        out.append({
            "setting": g["setting"].iloc[0], "space": g["space"].iloc[0], "predictor": g["predictor"].iloc[0], "mode": g["mode"].iloc[0],
            "search": search, "search_kwargs": kw, "dataset": dataset, "workers": int(workers),
            "metric": g["metric"].iloc[0], "budget": g["budget"].iloc[0], "gpu_hours_budget": g["gpu_hours_budget"].iloc[0],
            "cost_model": g["cost_model"].iloc[0], "seeds": len(g), "seed_min": int(g["seed"].min()),
            "seed_max": int(g["seed"].max()), "reached_optimum": float(g["reached_optimum"].mean()),
            "median_evals_to_optimum": censored_median(nums("evals_to_optimum")),
            "median_gpu_hours_to_optimum": censored_median(nums("gpu_hours_to_optimum")),
            "median_clock_hours_to_optimum": censored_median(nums("clock_hours_to_optimum")),
            "median_evals": float(g["evals"].median()), "median_evals_12ep": float(g["evals_12ep"].median()),
            "best_test_mean": float(g["best_test"].mean()),
            "best_test_sd_over_seeds": float(g["best_test"].std(ddof=1)),
            "search_seconds_per_eval_median": float(g["search_seconds_per_eval"].median()),
            "table_sha256": g["table_sha256"].iloc[0] if "table_sha256" in g else "",
        })
    frame = pd.DataFrame(out)
    write_csv(path.with_name(path.stem + "_summary.csv"), frame.to_dict("records"), list(frame.columns))
    return frame


def _fmt(v: float, digits: int = 1) -> str:
    return "never (>budget)" if v == math.inf else f"{v:.{digits}f}"


def report() -> str:
    """The README's tables, from the summaries."""
    lines = []
    fid = summarise("fidelity")
    if fid is not None:
        lines += ["| dataset | GPU-h budget | search | optimum reached | median GPU-h to optimum | ratio to the best `local` | "
                  "median evals to optimum (12-epoch ones included) | median 12-epoch evals |", "|---|---|---|---|---|---|---|---|"]
        for dataset, g in fid.groupby("dataset", sort=False):
            # the best single-fidelity strategy: `local` with or without a predictor, whichever needs fewer GPU-hours
            base = float(g.loc[g["search"] == "local", "median_gpu_hours_to_optimum"].min())
            for _, r in g.iterrows():
                ratio = r["median_gpu_hours_to_optimum"] / base
                ratio = _fmt(ratio, 2) if math.isfinite(ratio) else "-"
                name = r["search"] if r["predictor"] == "none" else f"{r['search']} ({r['mode']} {r['predictor']})"
                lines.append(f"| {dataset} | {r['gpu_hours_budget']:.1f} | {name} | {r['reached_optimum']:.0%} | "
                             f"{_fmt(r['median_gpu_hours_to_optimum'])} | {ratio} | "
                             f"{_fmt(r['median_evals_to_optimum'], 1)} | {r['median_evals_12ep']:.0f} |")
        lines.append("")
    wrk = summarise("workers")
    if wrk is not None:
        lines += ["| search | dataset | reached K=1 / K=8 | median wall-clock h to optimum K=1 | K=8 | ratio | "
                  "median GPU-h to optimum K=1 / K=8 |", "|---|---|---|---|---|---|---|"]
        for (search, kw, dataset), g in wrk.groupby(["search", "search_kwargs", "dataset"], sort=False):
            one, eight = g[g["workers"] == 1], g[g["workers"] == 8]
            if one.empty or eight.empty or one["seeds"].iloc[0] < 20 or eight["seeds"].iloc[0] < 20:
                continue
            a, b = float(one["median_clock_hours_to_optimum"].iloc[0]), float(eight["median_clock_hours_to_optimum"].iloc[0])
            ratio = _fmt(b / a, 2) if math.isfinite(a) and math.isfinite(b) else "-"
            name = f"{search} {kw}".strip()
            lines.append(f"| {name} | {dataset} | {one['reached_optimum'].iloc[0]:.0%} / {eight['reached_optimum'].iloc[0]:.0%} | "
                         f"{_fmt(a)} | {_fmt(b)} | {ratio} | {_fmt(float(one['median_gpu_hours_to_optimum'].iloc[0]))} / "
                         f"{_fmt(float(eight['median_gpu_hours_to_optimum'].iloc[0]))} |")
        lines.append("")
    opt = summarise("optuna")
    if opt is not None:
        lines += ["| sampler settings | dataset | seeds | optimum reached | median evals to optimum | mean evals to optimum "
                  "(censored at 211) | median GPU-h to optimum | best test % (mean) | search ms/eval (median) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        runs = pd.read_csv(RESULTS / FILES["optuna"], dtype={"search_kwargs": str})
        runs["search_kwargs"] = runs["search_kwargs"].fillna("")
        for _, r in opt.iterrows():
            g = runs[(runs["search_kwargs"] == r["search_kwargs"]) & (runs["dataset"] == r["dataset"])]
            mean = float(g["evals_to_optimum"].fillna(211).mean())
            lines.append(f"| {r['search_kwargs']} | {r['dataset']} | {r['seeds']} | {r['reached_optimum']:.0%} | "
                         f"{_fmt(r['median_evals_to_optimum'])} | {mean:.1f} | {_fmt(r['median_gpu_hours_to_optimum'])} | "
                         f"{r['best_test_mean']:.2f} | {1000 * r['search_seconds_per_eval_median']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default="fidelity,workers", help="comma list of: tune, fidelity, fidelity-xgb, tune-act, fidelity-act, workers, optuna")
    parser.add_argument("--searches", default="tpe-mv,random,qmc", help=f"optuna samplers for --part optuna: {','.join(OPTUNA)}")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="for the tune-act, fidelity-act and optuna parts")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--report", action="store_true", help="print the README tables from the CSVs and exit")
    args = parser.parse_args(argv)
    if args.report:
        print(report())
        return 0
    parts = args.part.split(",")
    optuna = args.searches.split(",")
    for p in parts:
        if p not in FILES:
            parser.error(f"unknown part {p!r}")
    for name in optuna:
        if name not in OPTUNA:
            parser.error(f"unknown optuna sampler {name!r}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    table = bench.load()
    for part in parts:
        if not args.summary_only:
            run_part(part, optuna, table, tuple(args.datasets.split(",")))
        frame = summarise(part)
        if frame is not None:
            with pd.option_context("display.width", 250, "display.max_columns", 30):
                print(frame[["search", "search_kwargs", "dataset", "workers", "seeds", "reached_optimum",
                             "median_evals_to_optimum", "median_gpu_hours_to_optimum", "median_clock_hours_to_optimum",
                             "best_test_mean"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
