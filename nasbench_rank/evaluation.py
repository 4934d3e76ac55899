"""Predictor quality: fit on seeded training cells of a source dataset, score held-out cells on each
target dataset without refitting (zero-shot transfer when target != source).

Every row names its whole protocol (pool, split sizes, metric, seed, settings, package version) so
rows from different runs can be pooled and compared; `write_rows` merges rows into a CSV keyed by
that protocol, so a rerun replaces rows instead of duplicating them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import __version__, bench, space
from .errors import UserError

POOLS: tuple[str, ...] = ("full", "unique", "functional")
TOP_FRACTION = 0.05
#: Columns that identify a row: two rows with equal keys measure the same thing.
ROW_KEY: tuple[str, ...] = ("predictor", "loss", "predictor_kwargs", "pool", "metric", "source", "target",
                            "n_train", "n_test", "seed")
SCORES: tuple[str, ...] = ("spearman", "kendall", "r2", "mae", "precision_top5pct", "fit_seconds")
COLUMNS: tuple[str, ...] = ROW_KEY + SCORES + ("transfer", "version")


def pool_indices(table: bench.Table, pool: str) -> np.ndarray:
    """Official indices a protocol draws from: every cell, the first cell of each unique_id, or the
    first cell of each functional class (`space.functional_key`)."""
    if pool == "full":
        return np.arange(len(table))
    if pool == "unique":
        _, first = np.unique(table.unique_ids(), return_index=True)
        return np.sort(first)
    if pool == "functional":  # one cell per functional class: no test cell has a twin in training
        keys = np.array([space.functional_key(table.cell_of(i)) for i in range(len(table))])
        _, first = np.unique(keys, return_index=True)
        return np.sort(first)
    raise UserError(f"unknown pool {pool!r}; known: {', '.join(POOLS)}")


def split(pool: np.ndarray, n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint training and test indices drawn from `pool` with ``np.random.default_rng(seed)``."""
    order = np.random.default_rng(seed).permutation(pool)
    return order[:n_train], order[n_train:n_train + n_test]


def precision_top(pred: np.ndarray, truth: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Share of the true top `fraction` of cells that the predicted top `fraction` contains.

    k = ceil(fraction * n). A cell tied with the k-th best true value counts as truly top, so ties in
    the table never penalise a predictor; predicted ties are broken by position (stable sort).
    """
    k = max(1, math.ceil(fraction * len(truth)))
    picked = np.argsort(-pred, kind="stable")[:k]
    threshold = np.sort(truth)[-k]
    return float(np.mean(truth[picked] >= threshold))


def score(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Rank and error metrics of predictions against true accuracy fractions (NaN where undefined,
    e.g. correlations of constant predictions)."""
    from scipy import stats  # imported here: scipy.stats costs ~0.5 s, and every CLI start would pay it

    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant inputs: scipy warns and returns NaN, which we keep
        spearman = stats.spearmanr(pred, truth)[0]
        kendall = stats.kendalltau(pred, truth, variant="b")[0]
    residual = truth - pred
    total = np.sum((truth - truth.mean()) ** 2)
    return {
        "spearman": float(spearman),
        "kendall": float(kendall),
        "r2": float(1.0 - np.sum(residual**2) / total) if total > 0 else float("nan"),
        "mae": float(np.mean(np.abs(residual))),
        "precision_top5pct": precision_top(pred, truth),
    }


@dataclass(frozen=True)
class Protocol:
    """A validated evaluation setting; `keys()` are the rows it will produce."""

    predictor: str
    loss: str  # the loss argument, else the predictor preset's loss, else ""
    predictor_kwargs: str  # canonical JSON of the caller's settings
    pool: str
    metric: str
    source: str
    targets: tuple[str, ...]
    n_train: int
    n_test: int
    seed: int

    def keys(self) -> list[tuple[str, ...]]:
        return [row_key({**self.__dict__, "target": t}) for t in self.targets]


def row_key(row: dict[str, Any]) -> tuple[str, ...]:
    """A row's identity as strings, so rows read back from CSV compare equal to fresh ones."""
    return tuple("" if row.get(c) is None or (isinstance(row.get(c), float) and math.isnan(row[c])) else str(row[c])
                 for c in ROW_KEY)


def _int_setting(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def resolve_protocol(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                     targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                     n_test: int | str = 100, metric: str = "test", seed: int = 0,
                     predictor_kwargs: dict | None = None, table: bench.Table | None = None) -> Protocol:
    """Check every setting (UserError naming the bad one) and resolve defaults, without fitting."""
    from .plugins import get_plugins

    plugins = get_plugins()
    kwargs = dict(predictor_kwargs or {})
    if loss is not None:
        plugins.losses.get(loss)  # unknown names fail with the registry's message
        if "loss" in kwargs:
            raise UserError("give the loss either as loss= or inside predictor_kwargs, not both")
    try:
        kwargs_json = json.dumps(kwargs, sort_keys=True)
    except TypeError as exc:
        raise UserError(f"predictor settings must be JSON-serialisable: {exc}") from None
    created = plugins.predictors.create(predictor, **({**kwargs, "loss": loss} if loss else kwargs))
    resolved_loss = loss or (getattr(created, "loss", None) if isinstance(getattr(created, "loss", None), str) else "")
    if pool not in POOLS:
        raise UserError(f"unknown pool {pool!r}; known: {', '.join(POOLS)}")
    bench.check_metric(metric)
    source = bench.canonical_dataset(source)
    if isinstance(targets, str):
        targets = [targets]
    resolved_targets = tuple(dict.fromkeys(bench.canonical_dataset(t) for t in targets))
    if not resolved_targets:
        raise UserError("name at least one target dataset")
    n_train = _int_setting("n_train", n_train, 2)
    seed = _int_setting("seed", seed, 0)
    size = len(pool_indices(table if table is not None else bench.load(), pool))
    if n_test == "rest":
        n_test = size - n_train
    elif isinstance(n_test, str):
        raise UserError(f"n_test must be an integer >= 2 or 'rest', got {n_test!r}")
    n_test = _int_setting("n_test", n_test, 2)
    if n_train + n_test > size:
        raise UserError(f"n_train + n_test = {n_train + n_test} exceeds the {size} cells of pool {pool!r}")
    return Protocol(predictor, resolved_loss or "", kwargs_json, pool, metric, source, resolved_targets,
                    n_train, n_test, seed)


def evaluate_predictor(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                       targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                       n_test: int | str = 100, metric: str = "test", seed: int = 0,
                       predictor_kwargs: dict | None = None, table: bench.Table | None = None,
                       save_dir: str | os.PathLike | None = None) -> list[dict]:
    """Fit the named predictor once on `n_train` cells of `source`, score the same held-out cells on
    every target; one tidy row per target.

    The split and, unless `predictor_kwargs` sets it, the predictor's own ``seed`` follow `seed`, so
    repeating over seeds varies both the data and the model's randomness. With `save_dir`, the fitted
    predictor is saved there with its protocol (see `persist`).
    """
    from .plugins import get_plugins

    table = table if table is not None else bench.load()
    protocol = resolve_protocol(predictor, loss=loss, source=source, targets=targets, pool=pool, n_train=n_train,
                                n_test=n_test, metric=metric, seed=seed, predictor_kwargs=predictor_kwargs,
                                table=table)
    kwargs = dict(predictor_kwargs or {})
    if loss is not None:
        kwargs["loss"] = loss
    model = get_plugins().predictors.create(predictor, **kwargs)
    if hasattr(model, "seed") and "seed" not in kwargs:
        model.seed = protocol.seed
    train, test = split(pool_indices(table, protocol.pool), protocol.n_train, protocol.n_test, protocol.seed)
    labels = table.accuracy(protocol.source, protocol.metric, fraction=True)
    started = time.perf_counter()
    model.fit(table.cells[train], labels[train])
    fit_seconds = time.perf_counter() - started
    pred = np.asarray(model.predict(table.cells[test]), dtype=np.float32)
    if pred.shape != (len(test),):
        raise UserError(f"predictor {predictor!r} returned predictions of shape {pred.shape}, expected ({len(test)},)")

    if save_dir is not None:
        from .persist import save_predictor

        save_predictor(model, save_dir, {
            "name": predictor,
            "kwargs": {**kwargs, **({"seed": model.seed} if hasattr(model, "seed") else {})},
            "protocol": {"pool": protocol.pool, "metric": protocol.metric, "source": protocol.source,
                         "n_train": protocol.n_train, "seed": protocol.seed, "train_indices": train.tolist()},
        })

    rows = []
    for target in protocol.targets:
        truth = table.accuracy(target, protocol.metric, fraction=True)[test]
        rows.append({
            "predictor": protocol.predictor, "loss": protocol.loss, "predictor_kwargs": protocol.predictor_kwargs,
            "pool": protocol.pool, "metric": protocol.metric, "source": protocol.source, "target": target,
            "n_train": protocol.n_train, "n_test": protocol.n_test, "seed": protocol.seed,
            **score(pred, truth), "fit_seconds": fit_seconds, "transfer": target != protocol.source,
            "version": __version__,
        })
    return rows


def read_rows(path: str | os.PathLike) -> pd.DataFrame:
    """The rows of a results CSV (empty frame with the standard columns when there is none yet)."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        return pd.read_csv(path, keep_default_na=False, na_values={c: ["", "nan", "NaN"] for c in SCORES})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"cannot read results {path}: {exc}") from None


def existing_keys(frame: pd.DataFrame) -> set[tuple[str, ...]]:
    missing = [c for c in ROW_KEY if c not in frame.columns]
    if missing:
        raise UserError(f"results file lacks the columns {', '.join(missing)}")
    return {row_key(r) for r in frame[list(ROW_KEY)].to_dict("records")}


def _lock_path(path: Path) -> Path:
    """A lock file outside the results folder, one per results file, so results/ holds only results."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nasbench-rank-{digest}.lock"


def write_rows(path: str | os.PathLike, rows: Iterable[dict]) -> pd.DataFrame:
    """Merge `rows` into the CSV at `path`: a row whose key is already there replaces it. Locked
    against concurrent writers and written atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = pd.DataFrame(list(rows))
    with open(_lock_path(path), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = read_rows(path)
        if len(old) and len(new):
            replaced = {row_key(r) for r in new.to_dict("records")}
            old = old[[row_key(r) not in replaced for r in old.to_dict("records")]]
        merged = pd.concat([f for f in (old, new) if len(f)], ignore_index=True) if len(old) or len(new) else old
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() honours the umask; mkstemp would not
        try:
            with open(tmp, "w", newline="") as fh:
                merged.to_csv(fh, index=False)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return merged


def summarize(frame: pd.DataFrame, by: Sequence[str] = ("predictor", "loss", "predictor_kwargs", "pool", "metric",
                                                        "source", "target", "n_train", "n_test"),
              scores: Sequence[str] = SCORES) -> pd.DataFrame:
    """Mean, std (ddof 1) and n over seeds for each protocol without its seed."""
    if not len(frame):
        return pd.DataFrame(columns=[*by, "n", *(f"{s}_{a}" for s in scores for a in ("mean", "std"))])
    grouped = frame.groupby(list(by), sort=False, dropna=False)
    out = grouped.size().rename("n").to_frame()
    for s in scores:
        out[f"{s}_mean"] = grouped[s].mean()
        out[f"{s}_std"] = grouped[s].std()
    return out.reset_index()
