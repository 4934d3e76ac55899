"""Predictor quality: fit on seeded training cells of a source dataset, score held-out cells on each
target dataset without refitting (zero-shot transfer when target != source).

Every row names its whole protocol (pool, split sizes, metric, seed, settings, the table's checksum
and the code's versions) so rows from different runs can be pooled and compared; `write_rows` merges
rows into a CSV keyed by that protocol, so a rerun replaces rows instead of duplicating them.

Named protocols (`PROTOCOLS`) fix pool, metrics and split sizes: `functional` (the leak-free headline),
`unique`, `article` (leaky: about 52% of its test cells have a functional twin in training), and the
published `pinat` and `naslib` protocols, so our numbers can sit beside the papers'.
"""

from __future__ import annotations

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

from . import __version__, atomic, bench, space
from .errors import NonFiniteError, UserError
from .provenance import PROVENANCE_COLUMNS, provenance
from .seeding import apply_seed, seed_of

POOLS: tuple[str, ...] = ("full", "unique", "functional")
TOP_FRACTION = 0.05
#: Columns that identify a row: two rows with equal keys measure the same thing. `score_metric` is
#: the metric scored on (the training metric unless a protocol says otherwise, as PINAT's does).
ROW_KEY: tuple[str, ...] = ("predictor", "loss", "predictor_kwargs", "pool", "metric", "score_metric", "source",
                            "target", "n_train", "n_test", "seed", "table_sha256")
SCORES: tuple[str, ...] = ("spearman", "kendall", "r2", "mae", "precision_top5pct", "fit_seconds")
#: GPU-hours a row's predictor cost: the 200-epoch training of its labelled cells (zero for proxies,
#: which need no labels), and what it spent reading benchmark results when predicting (acc12).
COSTS: tuple[str, ...] = ("label_gpu_hours", "query_gpu_hours")
COLUMNS: tuple[str, ...] = ("protocol",) + ROW_KEY + SCORES + COSTS + ("transfer", "version") + tuple(
    c for c in PROVENANCE_COLUMNS if c not in ROW_KEY)
#: n_test value that scores every cell of the pool, training cells included (PINAT's protocol).
ALL = "all"

#: Named protocols: the settings they fix. `n_train` lists the published sizes; the first is the default.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "functional": {"pool": "functional", "metric": "valid", "score_metric": "valid", "n_train": (900, 100, 400),
                   "n_test": "rest",
                   "about": "leak-free headline: one cell per functional class (4,930), train n, score all the rest"},
    "unique": {"pool": "unique", "metric": "valid", "score_metric": "valid", "n_train": (900,), "n_test": "rest",
               "about": "one cell per benchmark unique_id (6,466); ~13% of test cells have a functional twin in training"},
    "article": {"pool": "full", "metric": "test", "score_metric": "test", "n_train": (900,), "n_test": 100,
                "about": "the article's 900/100 on all 15,625 cells; LEAKY: ~52% of test cells have a functional "
                         "twin in training"},
    "pinat": {"pool": "full", "metric": "valid", "score_metric": "test", "n_train": (78, 156, 469, 781, 1563),
              "n_test": ALL,
              "about": "PINAT (Lu et al., AAAI 2023): train on valid accuracy of n cells, Kendall on test accuracy "
                       "of all 15,625 cells (training cells included)"},
    "naslib": {"pool": "full", "metric": "valid", "score_metric": "valid", "n_train": (100, 400, 1000),
               "n_test": 200,
               "about": "NASLib predictor survey (White et al., NeurIPS 2021): final validation accuracy, "
                        "n training cells, 200 held-out test cells"},
}


def pool_indices(table: bench.Table, pool: str) -> np.ndarray:
    """Official indices a protocol draws from: every cell, the first cell of each unique_id, or the
    first cell of each functional class (`space.functional_key`)."""
    if pool == "full":
        return np.arange(len(table))
    if pool == "unique":
        _, first = np.unique(table.unique_ids(), return_index=True)
        return np.sort(first)
    if pool == "functional":  # one cell per functional class: no test cell has a twin in training
        classes = space.functional_classes()[0][space.ordinals(table.cells)]
        _, first = np.unique(classes, return_index=True)
        return np.sort(first)
    raise UserError(f"unknown pool {pool!r}; known: {', '.join(POOLS)}")


def split(pool: np.ndarray, n_train: int, n_test: int | str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint training and test indices drawn from `pool` with ``np.random.default_rng(seed)``;
    with ``n_test="all"`` the test set is the whole pool, training cells included."""
    order = np.random.default_rng(seed).permutation(pool)
    if isinstance(n_test, str):
        if n_test != ALL:
            raise UserError(f"n_test must be an integer or {ALL!r} here, got {n_test!r}")
        return order[:n_train], np.sort(np.asarray(pool))
    return order[:n_train], order[n_train:n_train + n_test]


def protocol_settings(name: str) -> dict[str, Any]:
    """The settings a named protocol fixes (pool, metric, score_metric, n_train sizes, n_test)."""
    if name not in PROTOCOLS:
        raise UserError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return {k: v for k, v in PROTOCOLS[name].items() if k != "about"}


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
    score_metric: str = ""  # "" means the same as metric
    test_all: bool = False  # score every pool cell, training cells included
    protocol: str = ""  # the named protocol these settings are, "" when none
    table_sha256: str = ""  # the table the rows are computed from: part of every row's identity

    def keys(self) -> list[tuple[str, ...]]:
        return [row_key({**self.__dict__, "target": t}) for t in self.targets]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def row_key(row: dict[str, Any]) -> tuple[str, ...]:
    """A row's identity as strings, so rows read back from CSV compare equal to fresh ones. A row
    written before `score_metric` existed scored on its training metric, and keys as such."""
    row = dict(row)
    if _blank(row.get("score_metric")):
        row["score_metric"] = row.get("metric")
    return tuple("" if _blank(row.get(c)) else str(row[c]) for c in ROW_KEY)


def _int_setting(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def resolve_protocol(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                     targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                     n_test: int | str = 100, metric: str = "test", seed: int = 0,
                     predictor_kwargs: dict | None = None, table: bench.Table | None = None,
                     score_metric: str | None = None, protocol: str = "") -> Protocol:
    """Check every setting (UserError naming the bad one) and resolve defaults, without fitting.

    `n_test` is a number, ``"rest"`` (the whole pool outside training) or ``"all"`` (the whole pool,
    training cells included); `score_metric` defaults to `metric`."""
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
    score_metric = bench.check_metric(score_metric) if score_metric else metric
    if protocol and protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    source = bench.canonical_dataset(source)
    if isinstance(targets, str):
        targets = [targets]
    resolved_targets = tuple(dict.fromkeys(bench.canonical_dataset(t) for t in targets))
    if not resolved_targets:
        raise UserError("name at least one target dataset")
    n_train = _int_setting("n_train", n_train, 2)
    seed = _int_setting("seed", seed, 0)
    table = table if table is not None else bench.load()
    size = len(pool_indices(table, pool))
    test_all = n_test == ALL
    if n_train >= size:
        raise UserError(f"n_train = {n_train} exceeds the {size - 1} cells of pool {pool!r} that leave a cell to test")
    if test_all:
        n_test = size
    elif n_test == "rest":
        n_test = size - n_train
    elif isinstance(n_test, str):
        raise UserError(f"n_test must be an integer >= 2, 'rest' or 'all', got {n_test!r}")
    n_test = _int_setting("n_test", n_test, 2)
    if not test_all and n_train + n_test > size:
        raise UserError(f"n_train + n_test = {n_train + n_test} exceeds the {size} cells of pool {pool!r}")
    return Protocol(predictor, resolved_loss or "", kwargs_json, pool, metric, source, resolved_targets,
                    n_train, n_test, seed, score_metric, test_all, protocol, table.sha256)


def evaluate_predictor(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                       targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                       n_test: int | str = 100, metric: str = "test", seed: int = 0,
                       predictor_kwargs: dict | None = None, table: bench.Table | None = None,
                       save_dir: str | os.PathLike | None = None, score_metric: str | None = None,
                       protocol: str = "") -> list[dict]:
    """Fit the named predictor once on `n_train` cells of `source`, score the same held-out cells on
    every target; one tidy row per target.

    The split follows `seed`, and so does the predictor's own randomness (`seeding.apply_seed`: its
    ``seed`` or ``random_state`` setting, unless `predictor_kwargs` sets it). A predictor whose
    settings include ``dataset`` or ``table`` (the proxies) is given the source dataset and this
    table unless the caller set them. The predictor is built, and its libraries imported, before the
    fit is timed. NaN or infinite predictions, losses or scores stop with `NonFiniteError` (exit 1)
    naming the predictor, and no row is returned. With `save_dir`, the fitted predictor is saved
    there with its protocol (see `persist`).
    """
    from .plugins import get_plugins

    table = table if table is not None else bench.load()
    protocol = resolve_protocol(predictor, loss=loss, source=source, targets=targets, pool=pool, n_train=n_train,
                                n_test=n_test, metric=metric, seed=seed, predictor_kwargs=predictor_kwargs,
                                table=table, score_metric=score_metric, protocol=protocol)
    kwargs = dict(predictor_kwargs or {})
    if loss is not None:
        kwargs["loss"] = loss
    model = get_plugins().predictors.create(predictor, **kwargs)  # imports the plugin's module: untimed
    apply_seed(model, protocol.seed, explicit=kwargs)
    _inject_context(model, kwargs, dataset=protocol.source, table=table)
    train, test = split(pool_indices(table, protocol.pool), protocol.n_train,
                        ALL if protocol.test_all else protocol.n_test, protocol.seed)
    labels = table.accuracy(protocol.source, protocol.metric, fraction=True)
    started = time.perf_counter()
    try:
        model.fit(table.cells[train], labels[train])
    except NonFiniteError as exc:
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): {exc}") from None
    fit_seconds = time.perf_counter() - started
    history = getattr(model, "loss_history_", None)
    if history is not None and not np.all(np.isfinite(np.asarray(history, dtype=np.float64))):
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): its training loss is not finite")
    pred = np.asarray(model.predict(table.cells[test]), dtype=np.float64)
    if pred.shape != (len(test),):
        raise UserError(f"predictor {predictor!r} returned predictions of shape {pred.shape}, expected ({len(test)},)")
    bad = int(np.sum(~np.isfinite(pred)))
    if bad:
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}) returned {bad} non-finite predictions "
                             f"of {len(pred)}")
    pred = pred.astype(np.float32)
    needs_labels = bool(getattr(model, "needs_labels", True))
    label_hours = float(table.train_seconds(protocol.source)[train].sum() / 3600.0) if needs_labels else 0.0
    query_hours = float(getattr(model, "query_gpu_hours_", 0.0) or 0.0)

    if save_dir is not None:
        from .persist import save_predictor

        model_seed = seed_of(model)
        save_predictor(model, save_dir, {
            "name": predictor,
            "kwargs": {**kwargs, **({"seed": model_seed} if model_seed is not None else {})},
            "protocol": {"pool": protocol.pool, "metric": protocol.metric, "source": protocol.source,
                         "n_train": protocol.n_train, "seed": protocol.seed, "train_indices": train.tolist()},
        })

    rows = []
    for target in protocol.targets:
        truth = table.accuracy(target, protocol.score_metric, fraction=True)[test]
        scores = score(pred, truth)
        undefined = [k for k in ("spearman", "kendall", "r2", "mae") if not math.isfinite(scores[k])]
        if undefined:
            raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): {', '.join(undefined)} on {target} "
                                 f"is not finite (constant predictions?)")
        rows.append({
            "protocol": protocol.protocol,
            "predictor": protocol.predictor, "loss": protocol.loss, "predictor_kwargs": protocol.predictor_kwargs,
            "pool": protocol.pool, "metric": protocol.metric, "score_metric": protocol.score_metric,
            "source": protocol.source, "target": target,
            "n_train": protocol.n_train, "n_test": protocol.n_test, "seed": protocol.seed,
            **scores, "fit_seconds": fit_seconds, "label_gpu_hours": label_hours, "query_gpu_hours": query_hours,
            "transfer": target != protocol.source, "version": __version__, **provenance(table),
        })
    return rows


def _inject_context(model: Any, explicit: dict, *, dataset: str, table: bench.Table) -> None:
    """Give a predictor that declares ``dataset`` / ``table`` settings the evaluation's source dataset
    and table, unless the caller set them."""
    get_params = getattr(model, "get_params", None)
    if not callable(get_params):
        return
    params = get_params(deep=False)
    context = {"dataset": dataset, "table": table}
    update = {k: v for k, v in context.items() if k in params and k not in explicit}
    if update:
        model.set_params(**update)


def check_encodable(path: str | os.PathLike, what: str) -> str:
    """The path as text, or a UserError when the file system cannot encode it (e.g. a lone surrogate)."""
    text = os.fspath(path)
    try:
        os.fsencode(text)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{what} {ascii(text)} cannot be encoded for the file system; choose another name") from None
    return text


def check_output(path: str | os.PathLike) -> Path:
    """Refuse, before any work, a results path that cannot be written: one that cannot be encoded
    for the file system, a directory, or one under a file or an unwritable folder."""
    text = check_encodable(path, "output path")
    path = Path(text)
    if path.is_dir():
        raise UserError(f"output {text} is a directory; give a CSV file path")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"output {text} cannot be created: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"output {text} is not writable")
    return path


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
    # optional: rows written before these columns existed (a row without a checksum is from an unknown table)
    missing = [c for c in ROW_KEY if c not in frame.columns and c not in ("score_metric", "table_sha256")]
    if missing:
        raise UserError(f"results file lacks the columns {', '.join(missing)}")
    return {row_key(r) for r in frame[[c for c in ROW_KEY if c in frame.columns]].to_dict("records")}


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
    from filelock import FileLock

    with FileLock(str(_lock_path(path))):
        old = read_rows(path)
        if len(old) and len(new):
            replaced = {row_key(r) for r in new.to_dict("records")}
            old = old[[row_key(r) not in replaced for r in old.to_dict("records")]]
        merged = pd.concat([f for f in (old, new) if len(f)], ignore_index=True) if len(old) or len(new) else old
        atomic.write_with(path, lambda tmp: merged.to_csv(tmp, index=False))
    return merged


def summarize(frame: pd.DataFrame, by: Sequence[str] = ("predictor", "loss", "predictor_kwargs", "pool", "metric",
                                                        "score_metric", "source", "target", "n_train", "n_test"),
              scores: Sequence[str] = SCORES) -> pd.DataFrame:
    """Mean, std (ddof 1) and n over seeds for each protocol without its seed."""
    frame = frame.copy()
    if "score_metric" in by:
        if "score_metric" not in frame.columns:
            frame["score_metric"] = frame["metric"] if "metric" in frame.columns else ""
        blank = frame["score_metric"].isna() | (frame["score_metric"].astype(str) == "")
        frame.loc[blank, "score_metric"] = frame.loc[blank, "metric"]
    if not len(frame):
        return pd.DataFrame(columns=[*by, "n", *(f"{s}_{a}" for s in scores for a in ("mean", "std"))])
    grouped = frame.groupby(list(by), sort=False, dropna=False)
    out = grouped.size().rename("n").to_frame()
    for s in scores:
        out[f"{s}_mean"] = grouped[s].mean()
        out[f"{s}_std"] = grouped[s].std()
    return out.reset_index()
