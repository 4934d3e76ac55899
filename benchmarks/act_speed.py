"""ACT predictor speed and quality, before and after the speed work, measured in the same run.

"before" is `nasbench_rank/predictors/act.py` at git revision BEFORE_REV (the branch's base), read with
`git show` into a temporary folder and imported from there; "after" is the package's current
`ACTPredictor`. Both run their defaults (the `act-mixed` preset) plus `--kwargs` when given.

  timing:  fit on 900 cells of the functional pool (seed 0, CIFAR-10 valid), median of --repeats fits,
           then predict every cell of the space (15,625 cells, functional copies included), median of
           --repeats; one torch thread; before and after alternate fit by fit so that both see the same
           machine load. Rows go to results/act_speed.csv (one per impl and settings).
  quality: the protocol of `evaluation.evaluate_predictor` (pool functional, 900 training cells drawn
           with np.random.default_rng(seed), the rest of the pool as test cells, CIFAR-10 valid), seeds
           --seeds; rows in the standard columns plus `impl`, `revision`, `config` and provenance go to
           --output (results/act_speed_quality.csv for the reported seeds 0-9,
           results/act_speed_tuning.csv for tuning seeds 100+). Resumable: a row whose
           (impl, revision, predictor_kwargs, seed) is already there is skipped.

  compile: one training step of the default model (batch 32, MSE, fused AdamW, no clipping) eager and
           under torch.compile (inductor): the first step's time (compilation; the inductor cache on
           disk makes a second process faster, the row says which run it was) and the median step
           time after 20 warm-up steps; rows go to results/act_speed_compile.csv. Not used by the
           predictor: compilation costs more than a whole fit saves (see the rows).

  OMP_NUM_THREADS=1 nice -n 5 python benchmarks/act_speed.py timing --repeats 5
  OMP_NUM_THREADS=1 nice -n 5 python benchmarks/act_speed.py compile --steps 200
  OMP_NUM_THREADS=1 nice -n 5 python benchmarks/act_speed.py quality --impl before --seeds 0-9
  OMP_NUM_THREADS=1 nice -n 5 python benchmarks/act_speed.py quality --impl after --seeds 100-104 \
      --kwargs '{"epochs": 30}' --output results/act_speed_tuning.csv
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import torch

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.atomic import append_csv, read_records
from nasbench_rank.quality.protocol import pool_indices, score, split
from nasbench_rank.provenance import provenance
from nasbench_rank.seeding import parse_ranges as parse_seeds

BEFORE_REV = "82a6601"  # the branch's base: the model as it was before this round's speed work
ROOT = Path(__file__).resolve().parents[1]
POOL, METRIC, SOURCE, N_TRAIN = "functional", "valid", "cifar10", 900


def revision(impl: str) -> str:
    if impl == "before":
        return BEFORE_REV
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "nasbench_rank"], capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def load_impl(impl: str):
    """The ACTPredictor class of `impl` ('before' or 'after')."""
    if impl == "after":
        from nasbench_rank.predictors.act import ACTPredictor

        return ACTPredictor
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE_REV}:nasbench_rank/predictors/act.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="act_before_")) / "act_before.py"
    path.write_text(source)
    # a module of the predictors package, so its relative imports (`from .. import space`) resolve
    spec = importlib.util.spec_from_file_location("nasbench_rank.predictors._act_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ACTPredictor


def timing(args, table) -> None:
    torch.set_num_threads(1)
    train, _ = split(pool_indices(table, POOL), N_TRAIN, 0, 0)
    y = table.accuracy(SOURCE, METRIC, fraction=True)[train]
    kwargs = json.loads(args.kwargs)
    impls = args.impls.split(",")
    classes = {impl: load_impl(impl) for impl in impls}
    for cls in classes.values():
        cls(seed=0, epochs=1).fit(table.cells[train[:64]], y[:64])  # warm caches (functional groups) once
    fits: dict[str, list[float]] = {impl: [] for impl in impls}
    predicts: dict[str, list[float]] = {impl: [] for impl in impls}
    fit_cpu: dict[str, list[float]] = {impl: [] for impl in impls}
    predict_cpu: dict[str, list[float]] = {impl: [] for impl in impls}
    models = {}
    for _ in range(args.repeats):
        for impl in impls:  # alternate, so that both see the same load
            models[impl] = classes[impl](seed=0, **(kwargs if impl == "after" else {}))
            started, cpu = time.perf_counter(), time.process_time()
            models[impl].fit(table.cells[train], y)
            fits[impl].append(time.perf_counter() - started)
            fit_cpu[impl].append(time.process_time() - cpu)
    for _ in range(args.predict_repeats or args.repeats):
        for impl in impls:
            started, cpu = time.perf_counter(), time.process_time()
            models[impl].predict(table.cells)
            predicts[impl].append(time.perf_counter() - started)
            predict_cpu[impl].append(time.process_time() - cpu)
    rows = []
    for impl in impls:
        f, p = fits[impl], predicts[impl]
        row = {"impl": impl, "revision": revision(impl), "predictor": "act-mixed",
               "predictor_kwargs": json.dumps(kwargs if impl == "after" else {}, sort_keys=True), "pool": POOL,
               "metric": METRIC, "source": SOURCE, "n_train": N_TRAIN, "seed": 0, "threads": 1,
               "repeats": len(f), "predict_repeats": len(p), "fit_seconds_median": statistics.median(f),
               "fit_seconds_min": min(f), "fit_seconds_max": max(f), "predict_cells": len(table.cells),
               "predict_seconds_median": statistics.median(p), "predict_seconds_min": min(p),
               "predict_seconds_max": max(p), "fit_cpu_seconds_median": statistics.median(fit_cpu[impl]),
               "predict_cpu_seconds_median": statistics.median(predict_cpu[impl]), "load_avg_1min": os.getloadavg()[0], **provenance(table)}
        print(f"{impl} ({row['revision']}): fit 900 cells {row['fit_seconds_median']:.2f} s (median of {len(f)}; "
              f"{', '.join(f'{s:.2f}' for s in f)}), predict {len(table.cells)} cells "
              f"{row['predict_seconds_median']:.3f} s (median of {len(p)}; {', '.join(f'{s:.3f}' for s in p)}); "
              f"CPU time: fit {row['fit_cpu_seconds_median']:.2f} s, predict {row['predict_cpu_seconds_median']:.3f} s",
              flush=True)
        rows.append(row)
    if len(rows) == 2:
        print(f"ratio before/after: fit {rows[0]['fit_seconds_median'] / rows[1]['fit_seconds_median']:.2f}x, "
              f"predict {rows[0]['predict_seconds_median'] / rows[1]['predict_seconds_median']:.2f}x (wall); fit "
              f"{rows[0]['fit_cpu_seconds_median'] / rows[1]['fit_cpu_seconds_median']:.2f}x, predict "
              f"{rows[0]['predict_cpu_seconds_median'] / rows[1]['predict_cpu_seconds_median']:.2f}x (CPU time)", flush=True)
    append_csv(args.output, rows)


def quality(args, table) -> None:
    torch.set_num_threads(1)
    cls = load_impl(args.impl)
    kwargs = json.loads(args.kwargs)
    key = json.dumps(kwargs, sort_keys=True)
    rev = revision(args.impl)
    pool = pool_indices(table, POOL)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    for seed in parse_seeds(args.seeds):
        if any(r.get("impl") == args.impl and str(r.get("revision")) == rev and r.get("predictor_kwargs") == key
               and int(r["seed"]) == seed for r in read_records(args.output)):
            continue
        train, test = split(pool, N_TRAIN, len(pool) - N_TRAIN, seed)
        model = cls(seed=seed, **kwargs)
        started, cpu = time.perf_counter(), time.process_time()
        model.fit(table.cells[train], labels[train])
        fit_seconds, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
        pred = model.predict(table.cells[test])
        row = {"impl": args.impl, "revision": rev, "config": args.config or key, "predictor": "act",
               "loss": kwargs.get("loss", "mixed"), "predictor_kwargs": key, "pool": POOL, "metric": METRIC,
               "source": SOURCE, "target": SOURCE, "n_train": N_TRAIN, "n_test": len(test), "seed": seed,
               **score(pred, labels[test]), "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu, "transfer": False, "version": __version__,
               "load_avg_1min": os.getloadavg()[0], **provenance(table)}
        print(f"{args.impl} {rev} {key} seed {seed}: kendall {row['kendall']:.4f} fit {fit_seconds:.1f} s (cpu {fit_cpu:.1f} s)", flush=True)
        append_csv(args.output, [row])  # locked: another run may be adding to the same file
    frame = pd.DataFrame(read_records(args.output))
    if len(frame):
        frame["seeds"] = frame["seed"]
        print(frame.groupby(["impl", "revision", "predictor_kwargs"], dropna=False).agg(
            kendall_mean=("kendall", "mean"), kendall_median=("kendall", "median"), n=("seed", "size"),
            seeds=("seed", lambda s: f"{min(s)}-{max(s)}"), fit_s=("fit_seconds", "median")
        ).to_string(float_format=lambda v: f"{v:.4f}"))


def compile_check(args, table) -> None:
    from nasbench_rank.spaces import nb201_cell as space
    from nasbench_rank.predictors.act import ACTPredictor

    from torch._inductor.runtime.cache_dir_utils import cache_dir

    torch.set_num_threads(1)
    cache_was_there = Path(cache_dir()).is_dir() and any(Path(cache_dir()).iterdir())
    rows = []
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        net = ACTPredictor()._build()
        tokens = torch.as_tensor(space.sample(np.random.default_rng(0), 32), dtype=torch.long)
        y = torch.rand(32)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, fused=True)

        def loss_of(tokens, y, net=net):
            x = net.embed(tokens)
            z_H, z_L = net.init_carry(*x.shape[:2])
            return torch.nn.functional.mse_loss(net.step(x, z_H, z_L, net.biases(), last=True)[2], y)

        fn = torch.compile(loss_of) if mode == "compiled" else loss_of

        def train_step():
            opt.zero_grad(set_to_none=True)
            fn(tokens, y).backward()
            opt.step()

        started, cpu = time.perf_counter(), time.process_time()
        train_step()
        first_wall, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        for _ in range(20):
            train_step()
        steps = []
        for _ in range(args.steps):
            cpu = time.process_time()
            train_step()
            steps.append(time.process_time() - cpu)
        row = {"mode": mode, "revision": revision("after"), "batch_size": 32, "threads": 1,
               "first_step_wall_seconds": first_wall, "first_step_cpu_seconds": first_cpu,
               "step_cpu_ms_median": 1e3 * statistics.median(steps), "steps": len(steps),
               "inductor_cache_was_there": cache_was_there, "load_avg_1min": os.getloadavg()[0],
               "torch_version": torch.__version__}
        print(f"{mode}: first step {first_wall:.2f} s wall ({first_cpu:.2f} s CPU), then "
              f"{row['step_cpu_ms_median']:.2f} ms CPU per step (median of {len(steps)})", flush=True)
        rows.append(row)
    append_csv(args.output, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("timing")
    t.add_argument("--impls", default="before,after")
    t.add_argument("--repeats", type=int, default=5)
    t.add_argument("--predict-repeats", type=int, default=None, help="default: --repeats")
    t.add_argument("--kwargs", default="{}", help="JSON settings for the 'after' model")
    t.add_argument("--output", type=Path, default=ROOT / "results" / "act_speed.csv")
    q = sub.add_parser("quality")
    q.add_argument("--impl", choices=("before", "after"), required=True)
    q.add_argument("--seeds", default="0-9")
    q.add_argument("--kwargs", default="{}", help="JSON settings added to the defaults")
    q.add_argument("--config", default="", help="a name for the settings in the rows")
    q.add_argument("--output", type=Path, default=ROOT / "results" / "act_speed_quality.csv")
    c = sub.add_parser("compile")
    c.add_argument("--steps", type=int, default=200)
    c.add_argument("--output", type=Path, default=ROOT / "results" / "act_speed_compile.csv")
    args = parser.parse_args(argv)
    table = bench.load()
    {"timing": timing, "quality": quality, "compile": compile_check}[args.command](args, table)


if __name__ == "__main__":
    main()
