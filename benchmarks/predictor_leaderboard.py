"""The predictor leaderboard: every predictor but ACT under the leak-free protocol. Resumable: rows
already in a CSV are skipped, so it can be stopped and rerun; rows are appended one fit at a time.
The published protocols (PINAT's, NASLib's) are a grid spec, benchmarks/predictors_protocols.toml
(`nasbench-rank bench`), not a part of this script.

  functional  pool functional (one cell per functional class, 4,930 cells), train on CIFAR-10 valid,
              score on all the rest, n_train 100 / 400 / 900, seeds 0-9      -> results/quality_functional.csv

  leakage     for each named protocol and seed 0-9, the share of scored cells that compute the same
              function as some training cell (`space.functional_key`)       -> results/quality_leakage.csv

Each row CSV gets a <name>_summary.csv: per predictor and n_train, the number of seeds, mean and std (ddof 1),
median with a bootstrap 95% interval (scipy.stats.bootstrap, percentile, 2,000 resamples, seeded), and a
paired comparison with the fair baseline `xgb-struct` over shared seeds (Wilcoxon signed-rank p-value,
win rate). Extra row files in the same format (e.g. ACT rows) join the summary with --include.

  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/predictor_leaderboard.py --parts functional,leakage

Another space (--space; nb201 too): the leak-free protocol only (pool functional: one element per
equivalence class of the dataset's space, every element where the space defines none; train on
`valid`, score all the rest), per dataset of --datasets (default: the space's first), n_train
100 / 400 / 900 (--sizes), seeds 0-9, predictors act-mixed, act-rank, xgb, xgb-struct (--predictors
adds e.g. mlp-mixed) -> results/quality_<space>.csv, seed-major so a run cut short covers every
configuration, and results/quality_<space>_summary.csv: per dataset, predictor and n_train the
median Kendall with its 95% percentile-bootstrap interval, the IQM, mean and std, and the paired
comparison with xgb-struct over shared seeds (Wilcoxon signed-rank p, wins/ties/losses), all from
`nasbench_rank.report.stats`. A predictor that takes no `space` is skipped with a note.

  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/predictor_leaderboard.py --space nbgraph --datasets cora,proteins
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_rank import atomic
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.errors import UserError
from nasbench_rank.quality.protocol import (evaluate_predictor, evaluate_unless_recorded, existing_keys,
    load_benchmark, protocol_settings, read_rows, resolve_protocol, write_rows)

RESULTS = Path(__file__).resolve().parents[1] / "results"
BASELINE = "xgb-struct"
FUNCTIONAL_POOL_SIZE = 4930  # cells of pool functional (one per functional class)
#: cheap first, so a run cut short still has every cheap predictor
FUNCTIONAL = ("params", "acc12", "xgb", "xgb-struct", "xgb-rank", "rf", "gp", "bananas", "gin", "mlp-mse", "mlp-mixed",
              "xgb-ensemble")
PARTS = {
    "functional": dict(csv="quality_functional", protocol="functional", predictors=FUNCTIONAL,
                       n_train=(100, 400, 900), seeds=10),
}
#: The predictors of the cross-space comparison (--space); mlp-mixed joins with --predictors.
SPACE_PREDICTORS = ("xgb", "xgb-struct", "act-rank", "act-mixed")
SPACE_SIZES = (100, 400, 900)


def run_part(name: str, predictors: tuple[str, ...], seeds: range, table: bench.Table) -> Path:
    part = PARTS[name]
    fixed = protocol_settings(part["protocol"])
    path = RESULTS / f"{part['csv']}.csv"
    done = existing_keys(read_rows(path))
    for predictor in predictors:
        for seed in seeds:  # seed-major: a run cut short leaves whole seeds, every size
            for n_train in part["n_train"]:
                settings = dict(source="cifar10", targets=("cifar10",), pool=fixed["pool"], metric=fixed["metric"],
                                score_metric=fixed["score_metric"], n_train=n_train, n_test=fixed["n_test"],
                                seed=seed, protocol=part["protocol"])
                if set(resolve_protocol(predictor, table=table, **settings).keys()) <= done:
                    continue
                started = time.perf_counter()
                rows = evaluate_predictor(predictor, table=table, **settings)
                write_rows(path, rows)
                print(f"[{name}] {predictor} n_train={n_train} seed={seed}: tau {rows[0]['kendall']:.3f} "
                      f"fit {rows[0]['fit_seconds']:.1f} s ({time.perf_counter() - started:.1f} s)",
                      file=sys.stderr, flush=True)
    return path


def leakage(table: bench.Table, seeds: range) -> pd.DataFrame:
    """Per protocol, size and seed: the share of scored cells with a functional twin in training."""
    from nasbench_rank.spaces import nb201_cell as space
    from nasbench_rank.quality.protocol import pool_indices, split

    classes = space.functional_classes()[0][space.ordinals(table.cells)]
    rows = []
    for name in ("article", "unique", "functional", "pinat", "naslib"):
        fixed = protocol_settings(name)
        pool = pool_indices(table, fixed["pool"])
        for n_train in fixed["n_train"]:
            n_test = len(pool) - n_train if fixed["n_test"] == "rest" else fixed["n_test"]
            for seed in seeds:
                train, test = split(pool, n_train, n_test, seed)
                rows.append({"protocol": name, "pool": fixed["pool"], "n_train": n_train, "n_test": len(test),
                             "seed": seed, "twin_in_training": float(np.isin(classes[test], classes[train]).mean()),
                             "table_sha256": table.sha256})
    return pd.DataFrame(rows)


def _median_interval(values: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(values) < 3 or np.ptp(values) == 0:
        return float("nan"), float("nan")
    res = stats.bootstrap((values,), np.median, n_resamples=2000, confidence_level=0.95, method="percentile",
                          random_state=np.random.default_rng(0))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize_part(frame: pd.DataFrame, score: str = "kendall") -> pd.DataFrame:
    """Per (protocol, predictor, n_train): seeds, mean, std, median [95% bootstrap interval], and the
    paired comparison with `BASELINE` over the seeds both have."""
    from scipy import stats

    out = []
    keys = ["pool", "metric", "score_metric", "n_train", "n_test"]
    for (predictor, *rest), group in frame.groupby(["predictor", *keys], sort=False, dropna=False):
        values = group.set_index("seed")[score].astype(float)
        base = frame[(frame["predictor"] == BASELINE)
                     & np.logical_and.reduce([frame[k] == v for k, v in zip(keys, rest)])].set_index("seed")[score]
        shared = values.index.intersection(base.index)
        p_value = win_rate = float("nan")
        if predictor != BASELINE and len(shared) >= 2:
            diff = values.loc[shared].to_numpy() - base.loc[shared].to_numpy().astype(float)
            win_rate = float(np.mean(diff > 0))
            if np.any(diff != 0):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p_value = float(stats.wilcoxon(diff).pvalue)
        low, high = _median_interval(values.to_numpy())
        out.append({"predictor": predictor, **dict(zip(keys, rest)), "seeds": len(values),
                    f"{score}_mean": values.mean(), f"{score}_std": values.std(), f"{score}_median": values.median(),
                    f"{score}_median_low95": low, f"{score}_median_high95": high,
                    "fit_seconds_median": group["fit_seconds"].median(),
                    "label_gpu_hours_median": group["label_gpu_hours"].median(),
                    "query_gpu_hours_median": group["query_gpu_hours"].median(),
                    f"paired_vs_{BASELINE}_seeds": len(shared) if predictor != BASELINE else 0,
                    f"wilcoxon_p_vs_{BASELINE}": p_value, f"win_rate_vs_{BASELINE}": win_rate})
    return pd.DataFrame(out).sort_values(["n_train", f"{score}_median"], ascending=[True, False])


def show(summary: pd.DataFrame, score: str = "kendall") -> None:
    view = summary[["predictor", "n_train", "seeds"]].copy()
    view[f"{score} median [95% CI]"] = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(
        summary[f"{score}_median"], summary[f"{score}_median_low95"], summary[f"{score}_median_high95"])]
    view["mean ± std"] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(summary[f"{score}_mean"], summary[f"{score}_std"])]
    view[f"p vs {BASELINE}"] = summary[f"wilcoxon_p_vs_{BASELINE}"].map(lambda p: "" if np.isnan(p) else f"{p:.3f}")
    view["win"] = summary[f"win_rate_vs_{BASELINE}"].map(lambda w: "" if np.isnan(w) else f"{w:.1f}")
    view["fit s"] = summary["fit_seconds_median"].map(lambda v: f"{v:.2f}")
    print(view.to_string(index=False))


def markdown(summary: pd.DataFrame, score: str = "kendall") -> str:
    """A Markdown table: one row per predictor, one column per n_train; each cell is the median
    [bootstrap 95% interval] (seeds), ordered by the median at the largest n_train."""
    sizes = sorted(summary["n_train"].unique())
    last = summary[summary["n_train"] == sizes[-1]].sort_values(f"{score}_median", ascending=False)
    order = list(dict.fromkeys([*last["predictor"], *summary["predictor"]]))
    lines = ["| predictor | " + " | ".join(f"n_train {n}" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for predictor in order:
        cells = []
        for n in sizes:
            row = summary[(summary["predictor"] == predictor) & (summary["n_train"] == n)]
            if not len(row):
                cells.append("")
                continue
            r = row.iloc[0]
            interval = "" if np.isnan(r[f"{score}_median_low95"]) else \
                f" [{r[f'{score}_median_low95']:.3f}, {r[f'{score}_median_high95']:.3f}]"
            cells.append(f"{r[f'{score}_median']:.3f}{interval} ({int(r['seeds'])})")
        lines.append(f"| {predictor} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def supported(predictors: tuple[str, ...], bm) -> tuple[str, ...]:
    """The predictors that take the benchmark's space (`spaces.give_space`); the others are named on
    stderr and left out."""
    from nasbench_rank import spaces

    keep, refused = spaces.runs_on(predictors, bm.space)
    for line in refused:
        print(line, file=sys.stderr, flush=True)
    return keep


def run_space(space: str, datasets: tuple[str, ...], predictors: tuple[str, ...], seeds: range,
              sizes: tuple[int, ...], path: Path) -> Path:
    """The leak-free protocol on every dataset of `datasets`, seed-major; one row written per fit."""
    bm = load_benchmark(space)
    predictors = supported(predictors, bm)
    done = existing_keys(read_rows(path))
    for seed in seeds:
        for dataset in datasets:
            for predictor in predictors:
                for n_train in sizes:
                    settings = dict(source=dataset, targets=(dataset,), pool="functional", metric="valid",
                                    score_metric="valid", n_train=n_train, n_test="rest", seed=seed,
                                    protocol="functional", space=space)
                    started = time.perf_counter()
                    rows = evaluate_unless_recorded(path, predictor, settings, done)
                    if rows is None:
                        continue
                    print(f"[{space}] {dataset} {predictor} n_train={n_train} seed={seed}: tau {rows[0]['kendall']:.3f} "
                          f"fit {rows[0]['fit_seconds']:.1f} s ({time.perf_counter() - started:.1f} s)",
                          file=sys.stderr, flush=True)
    return path


def summarize_space(frame: pd.DataFrame, score: str = "kendall") -> pd.DataFrame:
    """Per (space, dataset, predictor, n_train): seeds, median [95% percentile-bootstrap interval],
    IQM, mean, std, and the paired comparison with `BASELINE` over shared seeds (report.stats)."""
    from nasbench_rank.report import stats

    keys = ["space", "source", "pool", "metric", "n_train"]
    out = []
    for (predictor, *rest), group in frame.groupby(["predictor", *keys], sort=False, dropna=False):
        values = {int(s): float(v) for s, v in zip(group["seed"], group[score])}
        where = np.logical_and.reduce([frame[k] == v for k, v in zip(keys, rest)])
        base = frame[(frame["predictor"] == BASELINE) & where]
        n, median, low, high = stats.median_ci(values.values())
        _, iqm, _, _ = stats.iqm_ci(values.values())
        _, mean, std, _, _ = stats.mean_t_ci(values.values())
        row = {"predictor": predictor, **dict(zip(keys, rest)), "seeds": n, f"{score}_median": median,
               f"{score}_median_low95": low, f"{score}_median_high95": high, f"{score}_iqm": iqm,
               f"{score}_mean": mean, f"{score}_std": std, "n_scored_median": group["n_scored"].median(),
               "fit_seconds_median": group["fit_seconds"].median()}
        if predictor != BASELINE and len(base):
            cmp = stats.paired({int(s): float(v) for s, v in zip(base["seed"], base[score])}, values)
            row.update({f"paired_vs_{BASELINE}_seeds": cmp["n_pairs"], f"wilcoxon_p_vs_{BASELINE}": cmp["wilcoxon_p"],
                        f"wins_vs_{BASELINE}": cmp["wins"], f"ties_vs_{BASELINE}": cmp["ties"],
                        f"losses_vs_{BASELINE}": cmp["losses"], f"median_diff_vs_{BASELINE}": cmp["median_diff"]})
        out.append(row)
    if not out:
        return pd.DataFrame()
    return pd.DataFrame(out).sort_values(["source", "n_train", f"{score}_median"], ascending=[True, True, False])


def show_space(summary: pd.DataFrame, score: str = "kendall") -> None:
    view = summary[["source", "predictor", "n_train", "seeds"]].copy()
    view[f"{score} median [95% CI]"] = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(
        summary[f"{score}_median"], summary[f"{score}_median_low95"], summary[f"{score}_median_high95"])]
    view["IQM"] = summary[f"{score}_iqm"].map(lambda v: f"{v:.3f}")
    column = f"wilcoxon_p_vs_{BASELINE}"
    if column in summary:
        view[f"p vs {BASELINE}"] = summary[column].map(lambda p: "" if pd.isna(p) else f"{p:.3f}")
        view["W/T/L"] = [("" if pd.isna(w) else f"{int(w)}/{int(t)}/{int(lo)}") for w, t, lo in zip(
            summary[f"wins_vs_{BASELINE}"], summary[f"ties_vs_{BASELINE}"], summary[f"losses_vs_{BASELINE}"])]
    view["fit s"] = summary["fit_seconds_median"].map(lambda v: f"{v:.2f}")
    print(view.to_string(index=False))


def main_space(args: argparse.Namespace) -> None:
    bm = load_benchmark(args.space)
    if args.datasets == "all":
        datasets = bm.datasets
    elif args.datasets:
        datasets = tuple(dict.fromkeys(bm.canonical_dataset(d.strip()) for d in args.datasets.split(",") if d.strip()))
    else:
        datasets = bm.datasets[:1]
    predictors = tuple(p.strip() for p in args.predictors.split(",") if p.strip()) if args.predictors else SPACE_PREDICTORS
    sizes = tuple(int(n) for n in args.sizes.split(",")) if args.sizes else SPACE_SIZES
    path = args.results / f"quality_{args.space}.csv"
    if not args.summary_only:
        run_space(args.space, datasets, predictors, range(args.seed_start, args.seed_start + (args.seeds or 10)), sizes,
                  path)
    frame = read_rows(path)
    frame = frame[(frame["protocol"] == "functional") & (frame["space"] == args.space)]
    if not len(frame):
        print(f"no rows in {path}")
        return
    summary = summarize_space(frame)
    atomic.write_csv(args.results / f"quality_{args.space}_summary.csv", summary.to_dict("records"),
                     list(summary.columns))
    print(f"== {args.space}: {path.name}, Kendall tau on valid (median over seeds, 95% percentile-bootstrap interval; "
          f"p: Wilcoxon signed-rank vs {BASELINE} over shared seeds; W/T/L: wins/ties/losses against it)")
    show_space(summary)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="functional", help=f"comma-separated subset of {', '.join(PARTS)}, leakage")
    parser.add_argument("--predictors", default=None, help="comma-separated predictors instead of each part's list")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per setting (default 10: seeds 0-9)")
    parser.add_argument("--summary-only", action="store_true", help="rebuild the summaries from the rows only")
    parser.add_argument("--markdown", action="store_true", help="also print each summary as a Markdown table")
    parser.add_argument("--include", action="append", default=[], type=Path,
                        help="another row CSV of the same protocol to join the functional summary (e.g. ACT rows)")
    parser.add_argument("--space", default=None,
                        help="run the leak-free protocol on this space (nb201, nbgraph, fcnet, ...) instead of --parts")
    parser.add_argument("--datasets", default=None,
                        help="with --space: comma-separated datasets, or 'all' (default: the space's first)")
    parser.add_argument("--sizes", default=None, help="with --space: comma-separated n_train (default 100,400,900)")
    parser.add_argument("--seed-start", type=int, default=0, help="with --space: first seed (default 0)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="with --space: folder of the CSVs")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.space is not None:
        try:
            main_space(args)
        except UserError as exc:
            parser.exit(2, f"error: {exc}\n")
        return
    table = bench.load()
    for name in [p.strip() for p in args.parts.split(",") if p.strip()]:
        if name == "leakage":
            frame = leakage(table, range(args.seeds or 10))
            atomic.write_csv(RESULTS / "quality_leakage.csv", frame.to_dict("records"), list(frame.columns))
            print("== leakage: share of scored cells with a functional twin in training (mean, min, max over seeds)")
            print(frame.groupby(["protocol", "n_train", "n_test"], sort=False)["twin_in_training"]
                  .agg(["mean", "min", "max"]).round(3).to_string())
            continue
        if name not in PARTS:
            parser.error(f"unknown part {name!r}; known: {', '.join(PARTS)}")
        part = PARTS[name]
        path = RESULTS / f"{part['csv']}.csv"
        if not args.summary_only:
            predictors = tuple(args.predictors.split(",")) if args.predictors else part["predictors"]
            run_part(name, predictors, range(args.seeds or part["seeds"]), table)
        frame = read_rows(path)
        if name == "functional":
            for extra in args.include:
                rows = read_rows(extra)
                # rows that do not name these (written before the columns existed, or by a script that
                # passes no protocol name) scored on their training metric; they are the functional
                # protocol when their settings are: pool functional, valid, all the rest scored
                blank = lambda column: rows[column].isna() | (rows[column].astype(str) == "")  # noqa: E731
                if "score_metric" not in rows.columns:
                    rows["score_metric"] = ""
                rows.loc[blank("score_metric"), "score_metric"] = rows["metric"]
                if "protocol" not in rows.columns:
                    rows["protocol"] = ""
                same = (rows["pool"] == "functional") & (rows["metric"] == "valid") & (rows["score_metric"] == "valid") & (
                    rows["n_train"].astype(int) + rows["n_test"].astype(int) == FUNCTIONAL_POOL_SIZE)
                rows.loc[blank("protocol") & same, "protocol"] = "functional"
                for column in frame.columns:  # a cost or score an older row lacks is missing, not text
                    if column in rows.columns and pd.api.types.is_numeric_dtype(frame[column]):
                        rows[column] = pd.to_numeric(rows[column], errors="coerce")
                frame = pd.concat([frame, rows], ignore_index=True)
        frame = frame[frame["protocol"] == part["protocol"]]
        if not len(frame):
            continue
        summary = summarize_part(frame)
        atomic.write_csv(RESULTS / f"{part['csv']}_summary.csv", summary.to_dict("records"), list(summary.columns))
        print(f"== {name}: {path.name}, Kendall tau on CIFAR-10 (median over seeds, bootstrap 95% interval of the "
              f"median; ± is the std over seeds; p: Wilcoxon signed-rank vs {BASELINE} over shared seeds)")
        show(summary)
        if args.markdown:
            print(markdown(summary))


if __name__ == "__main__":
    main()
