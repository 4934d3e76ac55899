"""How far an ACT fit is from the time of its arithmetic: FLOPs per optimiser step, the time of the
step's matrix products alone, and the measured time per step, for one network and for K networks
trained together (`ACTPredictor.fit_many`: seeds of a grid; `n_models`: an ensemble).

Setting: the `act-mixed` preset, 900 cells of the leak-free pool (functional; CIFAR-10 valid labels;
seeds 0..K-1 draw the training sets as the evaluation protocol does), one torch thread.

  flops:   `torch.utils.flop_counter.FlopCounterMode` around a one-epoch fit (29 steps) -> FLOPs per step
           (matrix products; the counter counts nothing else).
  floor:   every matrix product of one step is recorded (operator and shapes, `TorchDispatchMode`) and
           replayed alone, each `--replays` times; the floor of a step is the sum of their median CPU
           times ("arithmetic time"), and FLOPs / floor the GFLOP/s this machine reaches on these shapes.
  step:    fits of `--epochs` epochs (the preset trains 60; every epoch is the same work), median of
           `--repeats`; seconds per step by CPU time (process_time: the machine is shared; wall time
           is recorded too), ratio = step / floor. A whole fit's time is steps x that.

Cases: `one` (one network, the per-model path), `seeds10` (ten seeds, own training sets, fitted
together), `ens5` (one 5-model ensemble). Rows go to results/act_floor.csv with the revision (+dirty),
the 1-minute load average and the table's checksum; the cases alternate repeat by repeat so that
they see the same load.

  OMP_NUM_THREADS=1 nice -n 10 python benchmarks/act_floor.py --repeats 5 --epochs 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from nasbench_rank.atomic import append_csv
from nasbench_rank.plugins import get_plugins
from nasbench_rank.provenance import provenance
from nasbench_rank.quality.protocol import pool_indices, split
from nasbench_rank.tables import nb201 as bench

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, POOL, SOURCE, METRIC, PRESET = 900, "functional", "cifar10", "valid", "act-mixed"
CASES = {"one": (1, 1), "seeds10": (10, 1), "ens5": (1, 5)}  # (estimators fitted together, n_models each)
MATMULS = {"aten.mm.default", "aten.bmm.default", "aten.addmm.default", "aten.baddbmm.default"}


class _Record(TorchDispatchMode):
    """Records each matrix product's operator and operands' shapes and strides."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        if name in MATMULS:
            self.calls.append((func, [(a.shape, a.stride()) if isinstance(a, torch.Tensor) else a for a in args]))
        return func(*args, **(kwargs or {}))


def data(table, k: int):
    pool = pool_indices(table, POOL)
    labels = table.accuracy(SOURCE, METRIC, fraction=True)
    sets = [split(pool, N_TRAIN, len(pool) - N_TRAIN, seed)[0] for seed in range(k)]
    return [table.cells[s] for s in sets], [labels[s] for s in sets]


def fit(case: str, table, epochs: int, stream: list | None = None):
    k, n_models = CASES[case]
    cells, ys = data(table, k)
    ests = [get_plugins().predictors.create(PRESET, seed=s, epochs=epochs, n_models=n_models) for s in range(k)]
    return type(ests[0]).fit_many(ests, cells, ys)


def steps_per_fit(epochs: int, batch_size: int = 32) -> int:
    return epochs * -(-N_TRAIN // batch_size)


def replay(calls: list[tuple], replays: int) -> float:
    """Median CPU seconds of all recorded matrix products, each run alone on fresh operands."""
    total = 0.0
    for func, shapes in calls:
        args = [torch.empty_strided(s[0], s[1]).normal_() if isinstance(s, tuple) else s for s in shapes]
        func(*args)
        times = []
        for _ in range(replays):
            started = time.process_time()
            func(*args)
            times.append(time.process_time() - started)
        total += statistics.median(times)
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per timed fit (the preset: 60)")
    parser.add_argument("--replays", type=int, default=30)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "act_floor.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table = bench.load()
    cases = args.cases.split(",")
    one_epoch = steps_per_fit(1)
    flops, floor = {}, {}
    for case in cases:
        fit(case, table, 1)  # warm the caches (functional classes, imports)
        with FlopCounterMode(display=False) as counter:
            fit(case, table, 1)
        flops[case] = counter.get_total_flops() / one_epoch
        rec = _Record()
        with rec:
            fit(case, table, 1)
        per_step = [c for c in rec.calls]
        # one epoch's products, all steps alike but the last, shorter batch: the epoch's total / steps
        floor[case] = replay(per_step, args.replays) / one_epoch
        print(f"{case}: {flops[case] / 1e6:.1f} MFLOP per step, matrix products alone {1e3 * floor[case]:.2f} ms "
              f"CPU per step ({flops[case] / floor[case] / 1e9:.1f} GFLOP/s)", flush=True)
    cpu: dict[str, list[float]] = {c: [] for c in cases}
    wall: dict[str, list[float]] = {c: [] for c in cases}
    loads = []
    for _ in range(args.repeats):
        for case in cases:
            loads.append(os.getloadavg()[0])
            c0, w0 = time.process_time(), time.perf_counter()
            fit(case, table, args.epochs)
            cpu[case].append(time.process_time() - c0)
            wall[case].append(time.perf_counter() - w0)
    n_steps = steps_per_fit(args.epochs)
    rows = []
    for case in cases:
        k, n_models = CASES[case]
        step = statistics.median(cpu[case]) / n_steps
        row = {"case": case, "networks": k * n_models, "estimators": k, "n_models": n_models, "predictor": PRESET,
               "pool": POOL, "source": SOURCE, "metric": METRIC, "n_train": N_TRAIN, "threads": 1,
               "epochs_timed": args.epochs, "steps_timed": n_steps, "repeats": args.repeats,
               "flops_per_step": flops[case], "floor_ms_per_step": 1e3 * floor[case],
               "matmul_gflops": flops[case] / floor[case] / 1e9,
               "step_cpu_ms_median": 1e3 * step, "step_wall_ms_median": 1e3 * statistics.median(wall[case]) / n_steps,
               "ratio_to_floor": step / floor[case],
               "fit60_cpu_seconds_estimate": step * steps_per_fit(60),
               "floor60_seconds": floor[case] * steps_per_fit(60),
               "load_avg_1min_median": statistics.median(loads), "load_avg_1min_max": max(loads), **provenance(table)}
        rows.append(row)
        print(f"{case} ({k * n_models} networks): {row['step_cpu_ms_median']:.2f} ms CPU per step "
              f"({row['step_wall_ms_median']:.2f} wall), floor {row['floor_ms_per_step']:.2f} ms: "
              f"{row['ratio_to_floor']:.2f}x; a 60-epoch fit ~{row['fit60_cpu_seconds_estimate']:.0f} s CPU "
              f"(floor {row['floor60_seconds']:.0f} s); load {row['load_avg_1min_median']:.1f}", flush=True)
    append_csv(args.output, rows)


if __name__ == "__main__":
    main()
