"""Predictor quality: fit on seeded training cells of a source dataset, score held-out cells on each
target dataset without refitting (zero-shot transfer when target != source).

Every row names its whole protocol (pool, split sizes, metric, seed, settings, the table's checksum
and the code's versions) so rows from different runs can be pooled and compared; `write_rows` merges
rows into a CSV keyed by that protocol, so a rerun replaces rows instead of duplicating them.

Named protocols (`PROTOCOLS`) fix pool, metrics and split sizes: `functional` (the leak-free headline),
`unique`, `article` (leaky: about 52% of its test cells have a functional twin in training), and the
published `pinat` and `naslib` protocols, so our numbers can sit beside the papers'.

Any registered space (`nasbench_rank.spaces`) can be evaluated: `space=` names it (or dataset names
that only one space has). NAS-Bench-201 keeps its table's official indices, pools and splits, so
its rows are those of earlier versions plus the new columns. On another space the pools are
`functional` (one element per equivalence class of the dataset's space, `Space.representatives`;
every element where the space defines no equivalence, as the row's `pool_about` says) and `full`;
`unique` and the published protocols other than `functional` are NB201's and refused elsewhere.
Predictors are given the benchmark's whole space (`spaces.give_space`) and "higher is better"
utilities (`Metric.utility`), so Kendall and Spearman keep their sign meaning for a metric where
lower is better; MAE is in utility units (the metric itself; -log of it for a `log` metric such as
FCNet's MSE; accuracy fractions on NB201). A target is any dataset of the same space
(zero-shot transfer); one whose elements form a subspace (NAS-Bench-Graph's `proteins`) is scored on
the pool of that subspace outside the training elements' classes (`n_scored` says how many).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from .. import __version__, atomic
from ..tables import nb201 as bench
from ..spaces import nb201_cell as space
from .. import spaces as _spaces
from ..errors import NonFiniteError, PluginFailure, UserError, plugin_call
from ..provenance import PROVENANCE_COLUMNS, provenance
from ..seeding import apply_seed, seed_of

POOLS: tuple[str, ...] = ("full", "unique", "functional")
TOP_FRACTION = 0.05
#: Columns that identify a row: two rows with equal keys measure the same thing. `score_metric` is
#: the metric scored on (the training metric unless a protocol says otherwise, as PINAT's does).
#: `space` joined later: a row without one is NAS-Bench-201's.
ROW_KEY: tuple[str, ...] = ("space", "predictor", "loss", "predictor_kwargs", "pool", "metric", "score_metric", "source",
                            "target", "n_train", "n_test", "seed", "table_sha256")
DEFAULT_SPACE = "nb201"
SCORES: tuple[str, ...] = ("spearman", "kendall", "r2", "mae", "precision_top5pct", "fit_seconds")
#: GPU-hours a row's predictor cost: the 200-epoch training of its labelled cells (zero for proxies,
#: which need no labels), and what it spent reading benchmark results when predicting (acc12).
COSTS: tuple[str, ...] = ("label_gpu_hours", "query_gpu_hours")
#: Per row besides its key: how many cells were scored (fewer than n_test on a target whose space is a
#: subspace of the source's), what the pool is, and the checksum of the target dataset's data.
DETAILS: tuple[str, ...] = ("n_scored", "pool_about", "target_sha256")
COLUMNS: tuple[str, ...] = ("protocol",) + ROW_KEY + SCORES + COSTS + ("transfer", "version") + DETAILS + tuple(
    c for c in PROVENANCE_COLUMNS if c not in ROW_KEY)
#: Named protocols defined on NAS-Bench-201 only (their pools or published sizes are NB201's).
NB201_ONLY_PROTOCOLS: tuple[str, ...] = ("unique", "article", "pinat", "naslib")
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
              "about": "PINAT's (Lu et al., AAAI 2023): trained on the CIFAR-10 validation accuracy of n cells drawn "
                       "from all 15,625 (pool full), Kendall on the test accuracy of all 15,625 cells, training cells "
                       "included; LEAKY: the scored cells include the training cells and their functional twins"},
    "naslib": {"pool": "full", "metric": "valid", "score_metric": "valid", "n_train": (100, 400, 1000),
               "n_test": 200,
               "about": "our reading of the NASLib predictor survey (White et al., NeurIPS 2021), not confirmed "
                        "against its text: trained and scored on the final validation accuracy, n training cells and "
                        "200 held-out cells drawn from all 15,625 (pool full); LEAKY: held-out cells can have "
                        "functional twins in training"},
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


def named_protocol(name: str, *, pool: str, metric: str, score_metric: str | None, n_train: int,
                   n_test: int | str) -> str:
    """The protocol name a row carries: `name` when the settings are the ones it fixes (`n_train` one
    of its sizes; `score_metric` None meaning the training metric), else "" (a custom protocol)."""
    if not name:
        return ""
    fixed = protocol_settings(name)
    same = (pool == fixed["pool"] and metric == fixed["metric"] and (score_metric or metric) == fixed["score_metric"]
            and n_train in fixed["n_train"] and n_test == fixed["n_test"])
    return name if same else ""


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
    space: str = DEFAULT_SPACE
    test_rest: bool = False  # n_test was "rest": the whole pool outside training

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
    if _blank(row.get("space")):
        row["space"] = DEFAULT_SPACE
    return tuple("" if _blank(row.get(c)) else str(row[c]) for c in ROW_KEY)


def _int_setting(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


_BENCHMARKS: dict[str, Any] = {}


def load_benchmark(space: "str | _spaces.Benchmark") -> "_spaces.Benchmark":
    """The benchmark of a space name (loaded once per process) or the Benchmark given."""
    if isinstance(space, _spaces.Benchmark):
        return space
    if not isinstance(space, str) or not space:
        raise UserError(f"space must be a space name, got {space!r}")
    if space not in _BENCHMARKS:
        _BENCHMARKS[space] = _spaces.load(space)
    return _BENCHMARKS[space]


def space_name(space: "str | _spaces.Benchmark | None", source: str) -> str:
    """The name of the space an evaluation runs on: the one given, else the one space that has the
    source dataset (`spaces.find_dataset`)."""
    if space is None:
        try:
            return _spaces.find_dataset(source)
        except UserError as exc:
            if str(exc).startswith("no space has"):
                raise UserError(f"unknown dataset {source!r}: {exc}") from None
            raise
    if isinstance(space, _spaces.Benchmark):
        return space.name
    if not isinstance(space, str) or space not in _spaces.names():
        raise UserError(f"unknown space {space!r}; known: {', '.join(_spaces.names())}")
    return space


def space_pool(sp: "_spaces.Space", pool: str) -> np.ndarray:
    """Ordinals of `sp` a protocol draws from, ascending: every element (`full`), or the first element
    of each equivalence class (`functional`: `Space.representatives`, every element when the space
    defines no equivalence). `unique` is NAS-Bench-201's and refused here."""
    if pool == "full":
        return np.arange(sp.size, dtype=np.int64)
    if pool == "functional":
        return sp.representatives()
    if pool == "unique":
        raise UserError(f"pool 'unique' (one cell per benchmark unique_id) is NB201's; space {sp.name!r} has "
                        f"pools functional and full")
    raise UserError(f"unknown pool {pool!r}; known: {', '.join(POOLS)}")


def pool_about(sp: Any, pool: str, size: int) -> str:
    """One line saying what a pool of `sp` holds (the `pool_about` column)."""
    total = f"{sp.size:,}"
    if pool == "full":
        twins = "; equivalent elements can fall on both sides of the split" if sp.has_equivalence else ""
        return f"every element of {sp.name} ({total}){twins}"
    if pool == "unique":
        return f"one cell per benchmark unique_id ({size:,} of {total})"
    if sp.has_equivalence:
        return f"one element per equivalence class of {sp.name} ({size:,} of {total})"
    return f"{sp.name} defines no equivalence: every element ({total}), none has a functional twin"


def _plugin_setup(predictor: str, loss: str | None, predictor_kwargs: dict | None) -> tuple[str, str]:
    """(canonical JSON of the settings, the loss the predictor trains with or "") after checking them."""
    from ..plugins import get_plugins

    plugins = get_plugins()
    kwargs = dict(predictor_kwargs or {})
    if loss is not None:
        plugins.losses.get(loss)  # unknown names fail with the registry's message
        if "loss" in kwargs:
            raise UserError("give the loss either as loss= or inside predictor_kwargs, not both")
    try:
        kwargs_json = json.dumps(kwargs, sort_keys=True, default=_no_json)
    except TypeError as exc:
        raise UserError(f"predictor settings must be JSON-serialisable: {exc}") from None
    created = plugins.predictors.create(predictor, **({**kwargs, "loss": loss} if loss else kwargs))
    resolved_loss = loss or (getattr(created, "loss", None) if isinstance(getattr(created, "loss", None), str) else "")
    return kwargs_json, resolved_loss or ""


def _no_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _sizes(n_train: Any, n_test: Any, seed: Any, size: int, pool: str) -> tuple[int, int, int, bool]:
    n_train = _int_setting("n_train", n_train, 2)
    seed = _int_setting("seed", seed, 0)
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
    return n_train, n_test, seed, test_all


def resolve_protocol(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                     targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                     n_test: int | str = 100, metric: str | None = None, seed: int = 0,
                     predictor_kwargs: dict | None = None, table: bench.Table | None = None,
                     score_metric: str | None = None, protocol: str = "",
                     space: "str | _spaces.Benchmark | None" = None) -> Protocol:
    """Check every setting (UserError naming the bad one) and resolve defaults, without fitting.

    `space` names the space (default: the one space with the source dataset); `metric` defaults to
    `test` on NAS-Bench-201 (the article's) and to the benchmark's default metric elsewhere.
    `n_test` is a number, ``"rest"`` (the whole pool outside training) or ``"all"`` (the whole pool,
    training cells included); `score_metric` defaults to `metric`."""
    kwargs_json, resolved_loss = _plugin_setup(predictor, loss, predictor_kwargs)
    if pool not in POOLS:
        raise UserError(f"unknown pool {pool!r}; known: {', '.join(POOLS)}")
    if protocol and protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if isinstance(targets, str):
        targets = [targets]
    name = space_name(space, source)
    if name == DEFAULT_SPACE:
        metric = bench.check_metric(metric or "test")
        score_metric = bench.check_metric(score_metric) if score_metric else metric
        source = _nb201_dataset(source, "source")
        resolved_targets = tuple(dict.fromkeys(_nb201_dataset(t, "target") for t in targets))
        if isinstance(space, _spaces.Benchmark) and table is None:
            table = space.table
        table = table if table is not None else bench.load()
        size = len(pool_indices(table, pool))
        sha = table.sha256
    else:
        bm = load_benchmark(space if isinstance(space, _spaces.Benchmark) else name)
        if protocol in NB201_ONLY_PROTOCOLS:
            raise UserError(f"protocol {protocol!r} is defined on nb201 only, not on space {name!r}; "
                            f"use --protocol functional or set the pool and sizes")
        source = _dataset_of(bm, source, "source")
        metric = bm.metric(metric).name
        score_metric = bm.metric(score_metric).name if score_metric else metric
        resolved_targets = tuple(dict.fromkeys(_dataset_of(bm, t, "target") for t in targets))
        size = len(space_pool(bm.space_of(source), pool))
        sha = bm.checksum(source).sha256
    if not resolved_targets:
        raise UserError("name at least one target dataset")
    test_rest = n_test == "rest"
    n_train, n_test, seed, test_all = _sizes(n_train, n_test, seed, size, pool)
    return Protocol(predictor, resolved_loss, kwargs_json, pool, metric, source, resolved_targets,
                    n_train, n_test, seed, score_metric, test_all, protocol, sha, name, test_rest)


def _nb201_dataset(dataset: str, what: str) -> str:
    try:
        return bench.canonical_dataset(dataset)
    except UserError:
        other = _other_space(dataset)
        if other and other != DEFAULT_SPACE:
            why = ": zero-shot transfer stays within one space" if what == "target" else ""
            raise UserError(f"{what} {dataset!r} is a dataset of space {other!r}, not nb201{why}") from None
        raise


def _other_space(dataset: str) -> str:
    try:
        return _spaces.find_dataset(dataset)
    except UserError:
        return ""


def _dataset_of(bm: "_spaces.Benchmark", dataset: str, what: str) -> str:
    """`dataset` canonical in `bm`, or a one-line refusal (naming the space that has it)."""
    try:
        return bm.canonical_dataset(dataset)
    except UserError:
        other = _other_space(dataset)
        if other and other != bm.name:
            why = ": zero-shot transfer stays within one space" if what == "target" else ""
            raise UserError(f"{what} {dataset!r} is a dataset of space {other!r}, not {bm.name!r}{why}") from None
        raise


def evaluate_predictor(predictor: str, *, loss: str | None = None, source: str = "cifar10",
                       targets: Sequence[str] = ("cifar10",), pool: str = "full", n_train: int = 900,
                       n_test: int | str = 100, metric: str | None = None, seed: int = 0,
                       predictor_kwargs: dict | None = None, table: bench.Table | None = None,
                       save_dir: str | os.PathLike | None = None, score_metric: str | None = None,
                       protocol: str = "", space: "str | _spaces.Benchmark | None" = None) -> list[dict]:
    """Fit the named predictor once on `n_train` cells of `source`, score the same held-out cells on
    every target; one tidy row per target.

    `space` names the space (a name or a Benchmark; default: the one space with the source dataset).
    The split follows `seed`, and so does the predictor's own randomness (`seeding.apply_seed`: its
    ``seed`` or ``random_state`` setting, unless `predictor_kwargs` sets it). The predictor is given
    the benchmark's whole space (`spaces.give_space`). A predictor whose settings include ``dataset``
    or ``table`` (the proxies) is given the source dataset and, on NB201, this table unless the
    caller set them. The predictor is built, and its libraries imported, before the fit is timed.
    NaN or infinite predictions, losses or scores stop with `NonFiniteError` (exit 1) naming the
    predictor, and no row is returned. With `save_dir`, the fitted predictor is saved there with its
    protocol (see `persist`).
    """
    protocol = resolve_protocol(predictor, loss=loss, source=source, targets=targets, pool=pool, n_train=n_train,
                                n_test=n_test, metric=metric, seed=seed, predictor_kwargs=predictor_kwargs,
                                table=table, score_metric=score_metric, protocol=protocol, space=space)
    kwargs = dict(predictor_kwargs or {})
    if loss is not None:
        kwargs["loss"] = loss
    if protocol.space != DEFAULT_SPACE:
        bm = load_benchmark(space if isinstance(space, _spaces.Benchmark) else protocol.space)
        return _evaluate_space(predictor, protocol, kwargs, bm, save_dir)
    if isinstance(space, _spaces.Benchmark) and table is None:
        table = space.table
    table = table if table is not None else bench.load()
    model, train, test, labels = _nb201_setup(predictor, kwargs, protocol, table)
    fit_seconds = _fit(model, predictor, protocol, table.cells[train], labels[train])
    return nb201_rows(model, predictor, kwargs, protocol, table, train, test, fit_seconds, save_dir)


def _nb201_setup(predictor: str, kwargs: dict, protocol: Protocol, table: bench.Table) -> tuple:
    """(the predictor built and seeded, training and test indices, the source's labels)."""
    from ..plugins import get_plugins

    model = get_plugins().predictors.create(predictor, **kwargs)  # imports the plugin's module: untimed
    apply_seed(model, protocol.seed, explicit=kwargs)
    _spaces.give_space(model, _spaces.default_space(), predictor, kwargs)
    _inject_context(model, kwargs, dataset=protocol.source, table=table)
    train, test = split(pool_indices(table, protocol.pool), protocol.n_train,
                        ALL if protocol.test_all else protocol.n_test, protocol.seed)
    return model, train, test, table.accuracy(protocol.source, protocol.metric, fraction=True)


def nb201_rows(model: Any, predictor: str, kwargs: dict, protocol: Protocol, table: bench.Table, train: np.ndarray,
               test: np.ndarray, fit_seconds: float, save_dir: Any = None) -> list[dict]:
    """The rows of `model`, fitted on the cells `train` of `table`, scored on the cells `test` of every
    target; saved to `save_dir` first when given."""
    pred = _predict(model, predictor, protocol, table.cells[test])
    needs_labels = bool(getattr(model, "needs_labels", True))
    label_hours = float(table.train_seconds(protocol.source)[train].sum() / 3600.0) if needs_labels else 0.0
    query_hours = float(getattr(model, "query_gpu_hours_", 0.0) or 0.0)

    if save_dir is not None:
        _save(model, save_dir, predictor, kwargs, protocol, train, fit_seconds)

    about = pool_about(_spaces.default_space(), protocol.pool, len(pool_indices(table, protocol.pool)))
    rows = []
    for target in protocol.targets:
        truth = table.accuracy(target, protocol.score_metric, fraction=True)[test]
        rows.append(_row(predictor, protocol, target, pred, truth, fit_seconds, label_hours, query_hours,
                         provenance(table), about, table.sha256))
    return rows


def evaluate_seeds(predictor: str, seeds: Sequence[int], *, save_dirs: Sequence[Any] | None = None,
                   **settings: Any) -> Iterator[list[dict]]:
    """`evaluate_predictor(predictor, seed=s, **settings)` for every seed s: yields each seed's rows,
    in the order of `seeds`, as soon as they are computed.

    On NAS-Bench-201, when the predictor's class offers batched fitting (`predictors.batched`: a
    `fit_many` classmethod), the seeds' predictors are fitted together in one call; their rows are
    those of separate evaluations within the tolerance the predictor states, and each row's
    `fit_seconds` is the joint fit's time divided by the number of seeds. Otherwise, and on other
    spaces, the seeds are evaluated one after another."""
    from ..predictors.batched import can_fit_many, fit_many

    seeds = [int(s) for s in seeds]
    dirs = list(save_dirs) if save_dirs is not None else [None] * len(seeds)
    protocols = [resolve_protocol(predictor, seed=s, **settings) for s in seeds]
    table, space = settings.get("table"), settings.get("space")
    if len(seeds) < 2 or protocols[0].space != DEFAULT_SPACE:
        for s, d in zip(seeds, dirs):
            yield evaluate_predictor(predictor, seed=s, save_dir=d, **settings)
        return
    kwargs = dict(settings.get("predictor_kwargs") or {})
    if settings.get("loss") is not None:
        kwargs["loss"] = settings["loss"]
    if isinstance(space, _spaces.Benchmark) and table is None:
        table = space.table
    table = table if table is not None else bench.load()
    setups = [_nb201_setup(predictor, kwargs, p, table) for p in protocols]
    models = [m for m, *_ in setups]
    if not can_fit_many(models):
        for s, d in zip(seeds, dirs):
            yield evaluate_predictor(predictor, seed=s, save_dir=d, **settings)
        return
    started = time.perf_counter()
    try:
        with plugin_call("predictor", predictor, "fit"):
            fit_many(models, [table.cells[train] for _, train, _, _ in setups],
                     [labels[train] for _, train, _, labels in setups])
    except NonFiniteError as exc:
        raise NonFiniteError(f"predictor {predictor!r} (seeds {seeds[0]}-{seeds[-1]} fitted together): {exc}") from None
    fit_seconds = (time.perf_counter() - started) / len(seeds)
    for (model, train, test, _), protocol, d in zip(setups, protocols, dirs):
        history = getattr(model, "loss_history_", None)
        if history is not None and not np.all(np.isfinite(np.asarray(history, dtype=np.float64))):
            raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): its training loss is not finite")
        yield nb201_rows(model, predictor, kwargs, protocol, table, train, test, fit_seconds, d)


def _fit(model: Any, predictor: str, protocol: Protocol, x: np.ndarray, y: np.ndarray) -> float:
    """Fit and time it; NonFiniteError naming the predictor when its fit or its loss is not finite."""
    started = time.perf_counter()
    try:
        with plugin_call("predictor", predictor, "fit"):
            model.fit(x, y)
    except NonFiniteError as exc:
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): {exc}") from None
    fit_seconds = time.perf_counter() - started
    history = getattr(model, "loss_history_", None)
    if history is not None and not np.all(np.isfinite(np.asarray(history, dtype=np.float64))):
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): its training loss is not finite")
    return fit_seconds


def _predict(model: Any, predictor: str, protocol: Protocol, x: np.ndarray) -> np.ndarray:
    with plugin_call("predictor", predictor, "predict"):
        pred = np.asarray(model.predict(x), dtype=np.float64)
    if pred.shape != (len(x),):
        raise PluginFailure(f"predictor {predictor!r} returned predictions of shape {pred.shape}, expected ({len(x)},)")
    bad = int(np.sum(~np.isfinite(pred)))
    if bad:
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}) returned {bad} non-finite predictions "
                             f"of {len(pred)}")
    return pred.astype(np.float32)


def _save(model: Any, save_dir: Any, predictor: str, kwargs: dict, protocol: Protocol, train: np.ndarray,
          fit_seconds: float) -> None:
    """Save the fitted `model` with the protocol it was fitted and scored on: what `quality.saved`
    needs to score it again without refitting."""
    from ..predictors.persist import save_predictor

    model_seed = seed_of(model)
    saved = {k: v for k, v in kwargs.items() if k != "space"}
    n_test = ALL if protocol.test_all else "rest" if protocol.test_rest else protocol.n_test
    meta = {"pool": protocol.pool, "metric": protocol.metric, "source": protocol.source,
            "n_train": protocol.n_train, "seed": protocol.seed, "train_indices": train.tolist(),
            "n_test": n_test, "score_metric": protocol.score_metric, "protocol": protocol.protocol,
            "loss": kwargs.get("loss"), "predictor_kwargs": json.loads(protocol.predictor_kwargs or "{}"),
            "fit_seconds": float(fit_seconds)}
    if protocol.space != DEFAULT_SPACE:
        meta["space"] = protocol.space  # train_indices are then ordinals of the source's space
        saved["space"] = protocol.space  # a space setting may be a name: the reloaded predictor gets it
    # The Space object handed over by give_space has no saved format; its name stands for it while saving.
    params = model.get_params(deep=False) if callable(getattr(model, "get_params", None)) else {}
    given = params.get("space") if isinstance(params.get("space"), _spaces.Space) else None
    if given is not None:
        model.set_params(space=given.name)
    try:
        save_predictor(model, save_dir, {
            "name": predictor,
            "kwargs": {**saved, **({"seed": model_seed} if model_seed is not None else {})},
            "protocol": meta,
        })
    finally:
        if given is not None:
            model.set_params(space=given)


def _row(predictor: str, protocol: Protocol, target: str, pred: np.ndarray, truth: np.ndarray, fit_seconds: float,
         label_hours: float, query_hours: float, prov: dict, about: str, target_sha: str) -> dict:
    scores = score(pred, truth)
    undefined = [k for k in ("spearman", "kendall", "r2", "mae") if not math.isfinite(scores[k])]
    if undefined:
        raise NonFiniteError(f"predictor {predictor!r} (seed {protocol.seed}): {', '.join(undefined)} on {target} "
                             f"is not finite (constant predictions?)")
    return {
        "protocol": protocol.protocol, "space": protocol.space,
        "predictor": protocol.predictor, "loss": protocol.loss, "predictor_kwargs": protocol.predictor_kwargs,
        "pool": protocol.pool, "metric": protocol.metric, "score_metric": protocol.score_metric,
        "source": protocol.source, "target": target,
        "n_train": protocol.n_train, "n_test": protocol.n_test, "seed": protocol.seed,
        **scores, "fit_seconds": fit_seconds, "label_gpu_hours": label_hours, "query_gpu_hours": query_hours,
        "transfer": target != protocol.source, "version": __version__,
        "n_scored": int(len(truth)), "pool_about": about, "target_sha256": target_sha, **prov,
    }


def target_test(bm: "_spaces.Benchmark", protocol: Protocol, target: str, train: np.ndarray,
                test: np.ndarray) -> tuple["_spaces.Space", np.ndarray]:
    """(the target's space, the ordinals of it to score). A target on the source's space scores the
    split's test elements. A target whose space differs (a subspace, e.g. NAS-Bench-Graph's
    `proteins`) scores its own pool: every element with `n_test="all"`, else those outside the
    training elements' equivalence classes (outside the training elements themselves for pool
    `full`), the first `n_test` of them in a seeded order."""
    src = bm.space_of(protocol.source)
    tsp = bm.space_of(target)
    if tsp.name == src.name:
        return tsp, test
    t_pool = space_pool(tsp, protocol.pool)
    if not protocol.test_all:
        whole = bm.space
        t_whole = whole.ordinals(tsp.elements(t_pool))
        train_whole = whole.ordinals(src.elements(train))
        if protocol.pool == "functional":
            group = whole.classes()[0]
            keep = ~np.isin(group[t_whole], group[train_whole])
        else:
            keep = ~np.isin(t_whole, train_whole)
        t_pool = t_pool[keep]
        if not protocol.test_rest and protocol.n_test < len(t_pool):
            t_pool = np.sort(np.random.default_rng(protocol.seed).permutation(t_pool)[:protocol.n_test])
    return tsp, t_pool


def _evaluate_space(predictor: str, protocol: Protocol, kwargs: dict, bm: "_spaces.Benchmark",
                    save_dir: Any) -> list[dict]:
    """`evaluate_predictor` on a space other than NAS-Bench-201 (elements and ordinals of the space)."""
    from ..plugins import get_plugins

    model = get_plugins().predictors.create(predictor, **kwargs)  # imports the plugin's module: untimed
    apply_seed(model, protocol.seed, explicit=kwargs)
    _spaces.give_space(model, bm.space, predictor, kwargs)
    _spaces.give_benchmark(model, bm, kwargs)
    _inject_context(model, kwargs, dataset=protocol.source, table=None)
    src = bm.space_of(protocol.source)
    pool = space_pool(src, protocol.pool)
    train, test = split(pool, protocol.n_train, ALL if protocol.test_all else protocol.n_test, protocol.seed)
    metric = bm.metric(protocol.metric)
    labels = metric.utility(bm.values(protocol.source, metric.name))
    if not np.all(np.isfinite(labels[train])):
        raise UserError(f"the {metric.name} values of {protocol.source} are not finite on "
                        f"{int(np.sum(~np.isfinite(labels[train])))} training elements")
    fit_seconds = _fit(model, predictor, protocol, src.elements(train), labels[train])
    return space_rows(model, predictor, kwargs, protocol, bm, train, test, fit_seconds, save_dir)


def space_rows(model: Any, predictor: str, kwargs: dict, protocol: Protocol, bm: "_spaces.Benchmark",
               train: np.ndarray, test: np.ndarray, fit_seconds: float, save_dir: Any = None) -> list[dict]:
    """The rows of `model`, fitted on the ordinals `train` of the source's space, scored on every
    target (`target_test`); saved to `save_dir` first when given."""
    needs_labels = bool(getattr(model, "needs_labels", True))
    if not needs_labels:
        label_hours = 0.0
    elif bm.cost_unit == "seconds":
        label_hours = float(np.sum(bm.cost(protocol.source)[train]) / 3600.0)
    else:  # the data holds no training time (its cost counts evaluations)
        label_hours = float("nan")
    if save_dir is not None:
        _save(model, save_dir, predictor, kwargs, protocol, train, fit_seconds)
    source_sum = bm.checksum(protocol.source)
    score_metric = bm.metric(protocol.score_metric)
    rows, predicted = [], {}
    for target in protocol.targets:
        tsp, scored = target_test(bm, protocol, target, train, test)
        if len(scored) < 2:
            raise UserError(f"target {target!r}: fewer than 2 elements of its space {tsp.name!r} are left to score")
        key = (tsp.name, scored.tobytes())
        if key not in predicted:
            predicted[key] = _predict(model, predictor, protocol, tsp.elements(scored))
        truth = score_metric.utility(bm.values(target, score_metric.name))[scored]
        query_hours = float(getattr(model, "query_gpu_hours_", 0.0) or 0.0)
        about = pool_about(tsp, protocol.pool, len(space_pool(tsp, protocol.pool)))
        rows.append(_row(predictor, protocol, target, predicted[key], truth, fit_seconds, label_hours, query_hours,
                         provenance(source_sum), about, bm.checksum(target).sha256))
    return rows


def _inject_context(model: Any, explicit: dict, *, dataset: str, table: bench.Table | None) -> None:
    """Give a predictor that declares ``dataset`` / ``table`` settings the evaluation's source dataset
    and table (NB201's; None elsewhere: not given), unless the caller set them."""
    get_params = getattr(model, "get_params", None)
    if not callable(get_params):
        return
    params = get_params(deep=False)
    context = {"dataset": dataset, **({"table": table} if table is not None else {})}
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
    missing = [c for c in ROW_KEY if c not in frame.columns and c not in ("space", "score_metric", "table_sha256")]
    if missing:
        raise UserError(f"results file lacks the columns {', '.join(missing)}")
    return {row_key(r) for r in frame[[c for c in ROW_KEY if c in frame.columns]].to_dict("records")}


def evaluate_unless_recorded(path: str | os.PathLike, predictor: str, settings: dict, done: set) -> list[dict] | None:
    """The benchmark scripts' resumable step: `evaluate_predictor(predictor, **settings)` and merge its
    rows into the CSV at `path`, unless every row it would write is in `done` (keys of rows already
    there, `existing_keys`). Returns the rows, or None when skipped. A non-finite result
    (`NonFiniteError`) is named on stderr and not recorded, so a rerun tries it again."""
    import sys

    if set(resolve_protocol(predictor, **settings).keys()) <= done:
        return None
    try:
        rows = evaluate_predictor(predictor, **settings)
    except NonFiniteError as exc:
        print(f"FAILED {exc}", file=sys.stderr, flush=True)
        return None
    write_rows(path, rows)
    return rows


def write_rows(path: str | os.PathLike, rows: Iterable[dict]) -> pd.DataFrame:
    """Merge `rows` into the CSV at `path`: a row whose key is already there replaces it. Locked
    against concurrent writers and written atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = pd.DataFrame(list(rows))
    from filelock import FileLock

    with FileLock(str(atomic.lock_path(path))):
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
