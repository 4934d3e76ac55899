"""Score a saved predictor again without refitting it (`nasbench-rank eval --load-predictor`).

A predictor saved by an evaluation (`--save-predictor`, `evaluate_predictor(save_dir=...)`) carries
the protocol it was fitted and scored on. `evaluate_saved` loads it (`predictors.persist`: nothing
in the folder can run code; a file naming a type off the allow-list is refused), recomputes the
split from that protocol, checks that it gives the training cells the predictor was fitted on, and
scores the held-out cells on the targets asked for (zero-shot transfer for targets other than the
source). Its rows are those of the evaluation that saved it, with the fit time recorded then.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import UserError
from ..predictors.persist import META_NAME, load_predictor, read_meta
from .protocol import (ALL, DEFAULT_SPACE, load_benchmark, nb201_rows, pool_indices, resolve_protocol, space_pool,
                       space_rows, split)

NEEDED = ("pool", "metric", "score_metric", "source", "n_train", "n_test", "seed", "train_indices", "predictor_kwargs",
          "fit_seconds")


def saved_folders(directory: str | os.PathLike) -> list[Path]:
    """The saved predictors in `directory`: itself when it holds one, else its ``seed-*`` folders
    (what ``--save-predictor DIR`` writes); UserError when there are none."""
    directory = Path(directory)
    if (directory / META_NAME).is_file():
        return [directory]
    found = sorted((p for p in directory.glob("seed-*") if (p / META_NAME).is_file()),
                   key=lambda p: (len(p.name), p.name)) if directory.is_dir() else []
    if not found:
        raise UserError(f"{directory} holds no saved predictor ({META_NAME}, or seed-*/{META_NAME} as "
                        f"--save-predictor writes them)")
    return found


def saved_protocol(directory: str | os.PathLike) -> dict[str, Any]:
    """The protocol a saved predictor was evaluated on; UserError when it was saved without one."""
    meta = read_meta(directory)
    protocol = meta.get("protocol") if isinstance(meta.get("protocol"), dict) else {}
    missing = [k for k in NEEDED if k not in protocol]
    if missing:
        raise UserError(f"{directory} was saved without the protocol it was evaluated on (no {', '.join(missing)}); "
                        f"evaluate it again with --save-predictor")
    return {**protocol, "name": meta["name"], "kwargs": dict(meta.get("kwargs") or {})}


def evaluate_saved(directory: str | os.PathLike, targets: Sequence[str] | None = None, *, table: Any = None,
                   model: Any = None) -> list[dict]:
    """The rows of the predictor saved in `directory`, scored on `targets` (default: its source)
    without refitting. `model`: the predictor already loaded from there."""
    p = saved_protocol(directory)
    model = model if model is not None else load_predictor(directory)
    space = p.get("space") or DEFAULT_SPACE
    protocol = resolve_protocol(p["name"], loss=p.get("loss"), source=p["source"], targets=tuple(targets or [p["source"]]),
                                pool=p["pool"], n_train=p["n_train"], n_test=p["n_test"], metric=p["metric"],
                                seed=p["seed"], predictor_kwargs=p["predictor_kwargs"], table=table,
                                score_metric=p["score_metric"], protocol=p.get("protocol") or "", space=space)
    n_test = ALL if protocol.test_all else protocol.n_test
    if space == DEFAULT_SPACE:
        from ..tables import nb201 as bench

        table = table if table is not None else bench.load()
        train, test = split(pool_indices(table, protocol.pool), protocol.n_train, n_test, protocol.seed)
    else:
        bm = load_benchmark(space)
        train, test = split(space_pool(bm.space_of(protocol.source), protocol.pool), protocol.n_train, n_test,
                            protocol.seed)
    if not np.array_equal(np.sort(train), np.sort(np.asarray(p["train_indices"], dtype=np.int64))):
        raise UserError(f"{directory}: the split of seed {protocol.seed} no longer gives the cells the predictor was "
                        f"fitted on (another table or pool?); evaluate it again")
    kwargs = {k: v for k, v in p["kwargs"].items()}
    if space == DEFAULT_SPACE:
        return nb201_rows(model, p["name"], kwargs, protocol, table, train, test, float(p["fit_seconds"]))
    return space_rows(model, p["name"], kwargs, protocol, bm, train, test, float(p["fit_seconds"]))
