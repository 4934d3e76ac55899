"""The search protocol: one seeded search run -> one run row and one trace row per paid evaluation.

Every row names its protocol (space, predictor, loss, search and its settings, mode, source, dataset,
metric, budgets, simulated workers, refit schedule, n_train, cost model, version, table checksum), so
rows from different settings can share a table without losing their meaning. The loop itself runs in
`loop.runner`; this module sets it up and writes the rows.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable

import numpy as np

from . import __version__, bench, space
from .errors import UserError
from .fit_cache import cached_fit
from .loop.oracle import Oracle, check_budget
from .loop.protocol import COST_MODEL, FULL
from .loop.runner import run_loop
from .loop.surrogate import Surrogate, check_mode
from .loop.view import SearchView
from .plugins import get_plugins
from .provenance import PROVENANCE_COLUMNS, provenance
from .seeding import apply_seed

#: Test accuracy (%) that counts as "good enough" on each dataset. CIFAR-10's 94.0 is the article's;
#: the others sit a similar distance below their optimum (73.51, 47.31): about the top 0.1% of cells.
THRESHOLDS: dict[str, float] = {"cifar10": 94.0, "cifar100": 73.0, "imagenet16": 46.0}

#: What identifies a setting: with the seed, the key under which rows are merged and replaced.
PROTOCOL_COLUMNS: tuple[str, ...] = (
    "space", "predictor", "loss", "search", "search_kwargs", "predictor_kwargs", "mode", "source", "dataset",
    "metric", "budget", "gpu_hours_budget", "workers", "refit_every", "warm_every", "n_train", "cost_model", "version",
)
#: Columns of the run row, in order (the CSV writers and the README use this list).
RUN_COLUMNS: tuple[str, ...] = (
    "predictor", "loss", "search", "mode", "source", "dataset", "metric", "budget", "seed", "n_train",
    "pretrain_evals", "pretrain_same_dataset", "pretrain_gpu_hours", "search_kwargs", "predictor_kwargs",
    "evals", "best_metric", "best_valid", "best_test", "best_index",
    "threshold", "evals_to_threshold", "reached_threshold",
    "optimum_metric", "evals_to_optimum", "reached_optimum", "optimum_test",
    "gpu_hours", "fit_seconds_total", "n_fits", "search_seconds_excl_fit", "search_seconds_per_eval", "version",
    "space", "gpu_hours_budget", "workers", "refit_every", "warm_every", "cost_model", "evals_12ep", "n_warm_starts",
    "gpu_hours_to_threshold", "gpu_hours_to_optimum", "clock_hours", "clock_hours_to_threshold",
    "clock_hours_to_optimum",
) + PROVENANCE_COLUMNS
TRACE_COLUMNS: tuple[str, ...] = PROTOCOL_COLUMNS + (
    "seed", "eval", "index", "fidelity", "value", "test", "cost_gpu_hours", "best_value", "best_test", "best_index",
    "gpu_hours", "clock_hours",
) + PROVENANCE_COLUMNS
SPACE = "nb201"


def _kwargs_text(kwargs: dict[str, Any]) -> str:
    return ";".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


def pretraining_set(table: bench.Table, source: str, metric: str, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells, labels as fractions, benchmark indices) of the `n_train` pretraining cells of a seed."""
    if not 2 <= n_train <= space.N_CELLS:
        raise UserError(f"n_train must be in 2..{space.N_CELLS}, got {n_train}")
    cells = space.sample(np.random.default_rng([seed, 1]), n_train)
    indices = table.indices_of(cells)
    labels = table.accuracy(source, metric, fraction=True)[indices]
    return cells, labels, indices


def seeded(model: Any, seed: int, explicit: dict) -> Any:
    """`model` given the run's seed by the one seeding rule of every command (`seeding.apply_seed`);
    a seed setting the user gave (`--set seed=...`) is kept."""
    apply_seed(model, seed, explicit)
    return model


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def run_search(predictor: str | None, search: str, *, dataset: str = "cifar10", source: str = "cifar10",
               mode: str = "pretrained", budget: int | None = 210, metric: str = "valid", seed: int = 0,
               n_train: int = 900, loss: str | None = None, predictor_kwargs: dict | None = None,
               search_kwargs: dict | None = None, table=None, gpu_hours: float | None = None, workers: int = 1,
               refit_every: int = 1, warm_every: int = 0,
               progress: Callable[[int], None] | None = None) -> tuple[dict, list[dict]]:
    """Run one search and return (run row, trace rows).

    The budget is `budget` paid evaluations (any fidelity) and/or `gpu_hours` of training; `workers`
    simulated GPUs evaluate asynchronously (1: sequential). `mode` says what the predictor learns
    from (see `loop.surrogate.Surrogate`); the framework refits it before every ask when
    `refit_every` new 200-epoch observations have arrived, and warm-starts it (`partial_fit`) every
    `warm_every` observations in between (0: never). Without a predictor `mode` must stay at its
    default and the row says `none`. Pretraining labels are the source dataset's search metric; when
    source == dataset they are evaluations of the searched dataset and the row counts them in
    `pretrain_evals` with `pretrain_same_dataset` True. The predictor is seeded by `seeded`.
    """
    plugins = get_plugins()
    dataset = bench.canonical_dataset(dataset)
    source = bench.canonical_dataset(source)
    bench.check_metric(metric)
    check_mode(mode)
    seed = _check_int("seed", seed, 0)
    if budget is not None:
        budget = _check_int("budget", budget, 1)
    if gpu_hours is not None:
        if isinstance(gpu_hours, bool) or not isinstance(gpu_hours, (int, float, np.floating)):
            raise UserError(f"GPU-hours must be a positive number, got {gpu_hours!r}")
        gpu_hours = float(gpu_hours)
    check_budget(budget, gpu_hours)
    workers = _check_int("workers", workers, 1)
    refit_every = _check_int("refit_every", refit_every, 1)
    warm_every = _check_int("warm_every", warm_every, 0)
    predictor_kwargs = dict(predictor_kwargs or {})
    search_kwargs = dict(search_kwargs or {})
    if predictor is None:
        if mode != "pretrained":
            raise UserError(f"mode {mode!r} needs a predictor (--predictor NAME)")
        if loss is not None or predictor_kwargs:
            raise UserError("a loss or predictor settings need a predictor (--predictor NAME)")
    else:
        plugins.predictors.get(predictor)
        if loss is not None:
            plugins.losses.get(loss)
            predictor_kwargs["loss"] = loss
    strategy = plugins.searches.create(search, **search_kwargs)
    init = int(getattr(strategy, "init", 0) or 0)
    if budget is not None and init > budget:
        raise UserError(f"budget {budget} is smaller than the {init} cells search {search!r} starts with")
    table = table if table is not None else bench.load()

    explicit = dict(predictor_kwargs)
    make = None if predictor is None else (
        lambda: seeded(plugins.predictors.create(predictor, **predictor_kwargs), seed, explicit))
    if make is not None:  # built once now: a rejected setting fails, and imports happen, before any fit
        prototype = make()
        if getattr(strategy, "needs_std", False) and not callable(getattr(prototype, "predict_std", None)):
            raise UserError(f"search {search!r} needs a predictor with predict_std (an ensemble, e.g. "
                            f"'xgb-ensemble'); {predictor!r} has none")
    pretraining = predictor is not None and mode != "online"
    pre_cells = pre_y = pre_idx = None
    if pretraining:
        pre_cells, pre_y, pre_idx = pretraining_set(table, source, metric, n_train, seed)
    frozen = None
    if pretraining:
        def fit() -> tuple[Any, float]:
            model, start = make(), time.perf_counter()
            model.fit(pre_cells, pre_y)
            return model, time.perf_counter() - start

        key = (predictor, json.dumps(predictor_kwargs, sort_keys=True, default=str), source, metric, n_train, seed)
        frozen = cached_fit(key, fit, table.sha256)  # shared by the grid's workers; never unpickled
    surrogate = Surrogate(make, mode, pre_cells, pre_y, same_dataset=source == dataset, frozen=frozen,
                          refit_every=refit_every, warm_every=warm_every, name=predictor or "none")
    pretrain_fit = surrogate.fit_seconds

    oracle = Oracle(table, dataset, metric)
    view = SearchView(np.random.default_rng([seed, 2]), surrogate.scorer if surrogate.active else None,
                      workers=workers, evals_left=budget, gpu_hours_left=gpu_hours)
    start = time.perf_counter()
    run_loop(strategy, search, oracle, surrogate, view, max_evals=budget, max_gpu_hours=gpu_hours,
             workers=workers, progress=progress)
    wall = time.perf_counter() - start
    search_fit = surrogate.fit_seconds - pretrain_fit

    protocol = {
        "space": SPACE, "predictor": predictor or "none", "loss": loss or "", "search": search,
        "search_kwargs": _kwargs_text(search_kwargs),
        "predictor_kwargs": _kwargs_text({k: v for k, v in predictor_kwargs.items() if k != "loss"}),
        "mode": mode if predictor is not None else "none", "source": source if pretraining else "",
        "dataset": dataset, "metric": metric, "budget": budget if budget is not None else "",
        "gpu_hours_budget": gpu_hours if gpu_hours is not None else "", "workers": workers,
        "refit_every": refit_every, "warm_every": warm_every,
        "n_train": n_train if pretraining else 0, "cost_model": COST_MODEL, "version": __version__,
    }
    prov = provenance(table)
    trace = _trace(oracle, protocol, seed, prov)
    run = _summary(table, oracle, trace, protocol, seed)
    run.update(
        pretrain_evals=len(pre_idx) if pretraining else 0,
        pretrain_same_dataset=bool(pretraining and source == dataset),
        pretrain_gpu_hours=float(table.train_seconds(source)[pre_idx].sum() / 3600.0) if pretraining else 0.0,
        fit_seconds_total=surrogate.fit_seconds,
        n_fits=surrogate.n_fits,
        n_warm_starts=surrogate.n_warm,
        search_seconds_excl_fit=wall - search_fit,
        search_seconds_per_eval=(wall - search_fit) / max(oracle.n_evals, 1),
        **prov,
    )
    return {c: run[c] for c in RUN_COLUMNS}, trace


def _trace(oracle: Oracle, protocol: dict, seed: int, prov: dict) -> list[dict]:
    """One row per paid evaluation, in the order they finished; best-so-far over 200-epoch results."""
    rows, best = [], None
    for e in oracle.ledger:
        if e.fidelity == FULL and (best is None or e.value > best.value):
            best = e
        rows.append({**protocol, "seed": seed, "eval": e.number, "index": e.index, "fidelity": e.fidelity,
                     "value": 100.0 * e.value, "test": e.test, "cost_gpu_hours": e.cost / 3600.0,
                     "best_value": 100.0 * best.value if best else math.nan,
                     "best_test": best.test if best else math.nan, "best_index": best.index if best else -1,
                     "gpu_hours": e.gpu_seconds / 3600.0, "clock_hours": e.finished_at / 3600.0, **prov})
    return rows


def _first(trace: list[dict], hit, column: str = "eval") -> float:
    """`column` of the first trace row whose best-so-far satisfies `hit`; NaN when none does (censored)."""
    return next((float(r[column]) for r in trace if hit(r)), math.nan)


def _summary(table: bench.Table, oracle: Oracle, trace: list[dict], protocol: dict, seed: int) -> dict:
    dataset, metric = protocol["dataset"], protocol["metric"]
    optima = set(int(i) for i in table.optimum_indices(dataset, metric))
    opt_index, opt_value = table.optimum(dataset, metric)
    threshold = THRESHOLDS[dataset]
    best = oracle.best(FULL)
    at_threshold = lambda r: r["best_test"] >= threshold  # noqa: E731 (NaN before any 200-epoch result: False)
    at_optimum = lambda r: r["best_index"] in optima  # noqa: E731
    to_threshold = _first(trace, at_threshold)
    to_optimum = _first(trace, at_optimum)
    return {
        **protocol, "seed": seed, "evals": oracle.n_evals,
        "evals_12ep": sum(e.fidelity != FULL for e in oracle.ledger),
        "best_metric": 100.0 * best.value if best else math.nan,
        "best_valid": table.query(best.index, dataset, "valid") if best else math.nan,
        "best_test": best.test if best else math.nan,
        "best_index": best.index if best else -1,
        "threshold": threshold, "evals_to_threshold": to_threshold, "reached_threshold": not math.isnan(to_threshold),
        "optimum_metric": opt_value, "evals_to_optimum": to_optimum, "reached_optimum": not math.isnan(to_optimum),
        "optimum_test": table.query(opt_index, dataset, "test"),
        "gpu_hours": oracle.gpu_seconds / 3600.0,
        "gpu_hours_to_threshold": _first(trace, at_threshold, "gpu_hours"),
        "gpu_hours_to_optimum": _first(trace, at_optimum, "gpu_hours"),
        "clock_hours": max((e.finished_at for e in oracle.ledger), default=0.0) / 3600.0,
        "clock_hours_to_threshold": _first(trace, at_threshold, "clock_hours"),
        "clock_hours_to_optimum": _first(trace, at_optimum, "clock_hours"),
    }


def censored_median(evals: list[float]) -> float:
    """Median of evaluations-to-X where a run that never got there (NaN) counts as later than any
    that did; inf when half or more never got there (the median is then beyond the budget)."""
    if not evals:
        return math.nan
    return float(np.median([math.inf if math.isnan(e) else e for e in evals]))


def summarise(runs: list[dict]) -> dict:
    """One line of figures over the seeds of one setting (what the CLI prints and the benchmark stores).

    `best_test_std` is the sample standard deviation over seeds (ddof=1)."""
    test = np.array([r["best_test"] for r in runs], dtype=float)
    out = {
        "seeds": len(runs),
        "best_test_mean": float(test.mean()), "best_test_std": float(test.std(ddof=1)) if len(runs) > 1 else 0.0,
        "reached_optimum": float(np.mean([r["reached_optimum"] for r in runs])),
        "median_evals_to_optimum": censored_median([r["evals_to_optimum"] for r in runs]),
        "mean_evals_to_optimum_censored": _censored_mean(runs, "evals_to_optimum"),
        "reached_threshold": float(np.mean([r["reached_threshold"] for r in runs])),
        "median_evals_to_threshold": censored_median([r["evals_to_threshold"] for r in runs]),
        "gpu_hours_mean": float(np.mean([r["gpu_hours"] for r in runs])),
        "fit_seconds_median": float(np.median([r["fit_seconds_total"] for r in runs])),
        "search_seconds_per_eval_median": float(np.median([r["search_seconds_per_eval"] for r in runs])),
    }
    for column in ("gpu_hours_to_optimum", "clock_hours_to_optimum"):
        values = [r.get(column, math.nan) for r in runs]
        out[f"median_{column}"] = censored_median([float(v) if v not in ("", None) else math.nan for v in values])
    return out


def _censored_mean(runs: list[dict], column: str) -> float:
    """Mean of `column` with runs that never got there counted at the evaluation budget + 1 (a lower
    bound on the true mean); NaN when a run has no evaluation budget."""
    values = []
    for r in runs:
        v = float(r[column])
        if math.isnan(v):
            try:
                v = float(r["budget"]) + 1
            except (TypeError, ValueError):
                return math.nan
        values.append(v)
    return float(np.mean(values)) if values else math.nan
