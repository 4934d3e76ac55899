"""Learning curve on the leak-free protocol (`functional`: one cell per functional class, 4,930 cells;
`n_train` cells drawn with `np.random.default_rng(seed)`, every other pool cell scored; CIFAR-10
`valid`), in the standard evaluation rows (`evaluation.evaluate_predictor`).

Each run is a named setting: a predictor preset plus extra settings (`predictor_kwargs`). Rows add what
the model learned from: `labelled_cells` (= n_train) and `unlabelled_cells` (cells whose structure,
and nothing else, a label-free pretraining read: every cell of the space when `pretrain_epochs > 0`,
else 0), the setting's name, provenance and the 1-minute load average.

  OMP_NUM_THREADS=1 nice -n 5 python benchmarks/act_learning_curve.py --settings act-mixed,xgb-struct \
      --n-train 50,128,256,512 --seeds 0-9
  python benchmarks/act_learning_curve.py --summary-only

The summary (`--summary`, default `results/act_learning_curve_summary.csv`) gives per setting and size
the median Kendall over seeds with its 95% percentile-bootstrap interval (`report.stats.median_ci`);
it also reads the 900-cell rows of the same presets from `INCLUDE` (same protocol, seeds 0-9).

Resumable: rows whose protocol key is already in the output are skipped; each row is merged into the
output as soon as it is done (`evaluation.write_rows`: locked, atomic).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd
import torch

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.atomic import write_csv
from nasbench_rank.quality.protocol import evaluate_predictor, existing_keys, read_rows, resolve_protocol, write_rows
from nasbench_rank.provenance import provenance
from nasbench_rank.report.stats import median_ci
from nasbench_rank.seeding import parse_ranges as parse_ints

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = dict(pool="functional", n_test="rest", metric="valid", source="cifar10", targets=("cifar10",))

#: setting name -> (predictor preset, extra settings)
SETTINGS: dict[str, tuple[str, dict]] = {
    "act-mixed": ("act-mixed", {}),
    "act-rank": ("act-rank", {}),
    "xgb-struct": ("xgb-struct", {}),
    # label-free pretraining on every cell of the space (structural targets), then the usual fit;
    # not run on seeds 0-9: on the tuning seeds it was level at 128 cells (results/act_pretrain_summary.csv)
    # at least 1,000 optimiser steps however few the cells (tuning seeds: +0.005 to +0.011 at 100-200 cells)
    "act-mixed-minsteps1000": ("act-mixed", {"min_steps": 1000}),
    "act-mixed-pretrain20": ("act-mixed", {"pretrain_epochs": 20}),
    # a seed ensemble of 5 (same labels; predictions averaged), alone and with min_steps
    "act-mixed-ens5": ("act-mixed", {"n_models": 5}),
    "act-mixed-ens5-minsteps1000": ("act-mixed", {"n_models": 5, "min_steps": 1000}),
    "act-mixed-ens10-minsteps1000": ("act-mixed", {"n_models": 10, "min_steps": 1000}),
    "act-mixed-ens5-minsteps2000": ("act-mixed", {"n_models": 5, "min_steps": 2000}),
    # the ranking term with more pairs per batch, and weighted up (tuning seeds only)
    "act-mixed-minsteps1000-pairs256": ("act-mixed", {"min_steps": 1000, "loss_kwargs": {"n_pairs": 256}}),
    "act-mixed-minsteps1000-rank07": ("act-mixed", {"min_steps": 1000, "loss_kwargs": {"n_pairs": 256, "mse_weight": 0.3,
                                                                                       "rank_weight": 0.7}}),
    # smaller or more regularised models for few cells (tuning seeds only)
    "act-mixed-minsteps1000-h32": ("act-mixed", {"min_steps": 1000, "hidden": 32}),
    "act-mixed-minsteps1000-wd0.1": ("act-mixed", {"min_steps": 1000, "weight_decay": 0.1}),
    "act-mixed-minsteps1000-L1": ("act-mixed", {"min_steps": 1000, "L_layers": 1}),
    "act-mixed-ens5-minsteps1000-h32": ("act-mixed", {"n_models": 5, "min_steps": 1000, "hidden": 32}),
}
INCLUDE = [ROOT / "results" / "quality_functional_act.csv", ROOT / "results" / "quality_functional.csv"]


def unlabelled_cells(predictor_kwargs: dict) -> int:
    """Cells seen without a label: every cell of NAS-Bench-201 when pretraining is on."""
    if int(predictor_kwargs.get("pretrain_epochs", 0)) > 0:
        from nasbench_rank.spaces import resolve_space

        return int(resolve_space(None).size)  # what ACTPredictor.n_unlabelled_ reports
    return 0


def setting_of(row: pd.Series) -> str:
    if isinstance(row.get("setting"), str) and row["setting"]:
        return row["setting"]
    kwargs = row.get("predictor_kwargs")
    if kwargs in (None, "", "{}") or (isinstance(kwargs, float)):
        return str(row["predictor"])
    return f"{row['predictor']} {kwargs}"


def summary(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    frame = frame[(frame["pool"] == "functional") & (frame["metric"] == "valid") & (frame["source"] == "cifar10")
                  & (frame["target"] == "cifar10") & frame["seed"].between(0, 9)]
    frame = frame.assign(setting=frame.apply(setting_of, axis=1))
    rows = []
    for (setting, n_train), group in frame.groupby(["setting", "n_train"], sort=True):
        group = group.drop_duplicates("seed", keep="last")
        n, med, lo, hi = median_ci(group["kendall"])
        unl = group["unlabelled_cells"].max() if "unlabelled_cells" in group else 0
        rows.append({"setting": setting, "predictor": group["predictor"].iloc[0],
                     "predictor_kwargs": group["predictor_kwargs"].iloc[0], "pool": "functional", "metric": "valid",
                     "source": "cifar10", "n_train": int(n_train), "labelled_cells": int(n_train),
                     "unlabelled_cells": int(0 if pd.isna(unl) else unl), "seeds": n,
                     "kendall_median": med, "kendall_ci_low": lo, "kendall_ci_high": hi,
                     "interval": "95% percentile bootstrap of the median",
                     "fit_seconds_median": float(group["fit_seconds"].median())})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default="act-mixed,xgb-struct", help=f"from: {', '.join(SETTINGS)}")
    parser.add_argument("--n-train", default="50,128,256,512")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "act_learning_curve.csv")
    parser.add_argument("--summary", type=Path, default=ROOT / "results" / "act_learning_curve_summary.csv")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args(argv)
    names = [s for s in args.settings.split(",") if s]
    unknown = [s for s in names if s not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    if not args.summary_only:
        torch.set_num_threads(1)
        table = bench.load()
        for n_train in parse_ints(args.n_train):
            for name in names:
                preset, kwargs = SETTINGS[name]
                for seed in parse_ints(args.seeds):
                    opts = dict(PROTOCOL, n_train=n_train, seed=seed, table=table, predictor_kwargs=kwargs or None)
                    if set(resolve_protocol(preset, **opts).keys()) <= existing_keys(read_rows(args.output)):
                        continue
                    rows = evaluate_predictor(preset, **opts)
                    rows = [{**r, "setting": name, "labelled_cells": n_train,
                             "unlabelled_cells": unlabelled_cells(kwargs), "load_avg_1min": os.getloadavg()[0],
                             **provenance(table)} for r in rows]
                    print(f"{name} n {n_train} seed {seed}: kendall {rows[0]['kendall']:.4f} "
                          f"fit {rows[0]['fit_seconds']:.1f} s", flush=True)
                    write_rows(args.output, rows)
    own = read_rows(args.output)
    shown = set(own["predictor"]) if len(own) else set()
    included = []
    for path in INCLUDE:
        extra = read_rows(path)
        if len(extra):  # the presets' 900-cell rows, same protocol
            extra = extra[(extra["n_train"] == 900) & extra["predictor"].isin(shown)
                          & extra["predictor_kwargs"].astype(str).isin(["{}", "", "nan"])]
            included.append(extra)
    table_ = summary([own, *included])
    write_csv(args.summary, table_.to_dict("records"), list(table_.columns))
    print(table_[["setting", "n_train", "unlabelled_cells", "seeds", "kendall_median", "kendall_ci_low",
                  "kendall_ci_high"]].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
