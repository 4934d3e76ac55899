"""Fake cell runners for harness tests: deterministic rows from the settings alone, like the real
cells, but instant. Kept light so the spawned workers of a process pool import it quickly."""

import json
import time
import zlib

import numpy as np

from nasbench_rank.grid.harness import PREDICTIONS_CSV

CALLS: list[dict] = []


def fake_runner(kind, settings):
    CALLS.append(settings)
    rng = np.random.default_rng(zlib.crc32(json.dumps(settings, sort_keys=True).encode()))
    if kind == "eval":
        return {"rows": [{"target": t, "kendall": float(rng.uniform(0.3, 0.9)), "spearman": float(rng.uniform()),
                          "fit_seconds": float(rng.uniform())} for t in settings["targets"]],
                "files": {PREDICTIONS_CSV: "index,target,true,predicted\n1,cifar10,0.9,0.8\n2,cifar10,0.8,0.85\n"}}
    best = np.maximum.accumulate(rng.uniform(80, 94, settings["budget"]))
    trace = [{"eval": i + 1, "best_test": float(b)} for i, b in enumerate(best)]
    return {"rows": [{"best_test": float(best[-1]), "evals_to_optimum": float("nan"), "gpu_hours": float(rng.uniform())}],
            "trace": trace}


def failing_runner(kind, settings):
    """Fails the mlp cells of seed 1 with a two-line message."""
    if settings["predictor"] == "mlp" and settings["seed"] == 1:
        raise ValueError("mlp diverged\nsecond line of the message")
    return fake_runner(kind, settings)


def slow_runner(kind, settings):
    time.sleep(0.3)
    return fake_runner(kind, settings)


KILL_ENV = "FAKE_CELLS_KILL_DIR"


def killing_runner(kind, settings):
    """Kills its own worker process (as SIGKILL or the OOM killer would) on the mlp cell of seed 1.
    When $FAKE_CELLS_KILL_DIR holds a file named `once`, only the first attempt dies."""
    if settings["predictor"] == "mlp" and settings["seed"] == 1:
        import os
        import signal
        from pathlib import Path

        folder = Path(os.environ[KILL_ENV])
        died = folder / "died"
        if not ((folder / "once").exists() and died.exists()):
            died.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)
    return slow_runner(kind, settings)
