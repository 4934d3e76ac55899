"""The search protocol: one seeded search run -> one run row and one trace row per paid evaluation.

Every row names its protocol (space, predictor, loss, search and its settings, mode, source, dataset,
metric, budgets, simulated workers, refit schedule, n_train, cost model, version, table checksum), so
rows from different settings can share a table without losing their meaning. The loop itself runs in
`loop.runner`; this module sets it up and writes the rows.

Directions: the search sees utilities (higher is better: a `min` metric negated), but rows report
every value in the metric's own units: `best_metric`, `optimum_metric`, the trace's `value` and
`best_value` are the metric itself (NB201: percent; FCNet: the validation MSE, which decreases as the
search improves), and `direction` says which way is better. `best_test`, `optimum_test` and
`threshold` are the report metric (`report_metric`: `test` where the benchmark has one, else its
default metric), compared by that metric's direction. When several elements tie for the optimum of
the search metric (`optimum_ties` says how many; NAS-Bench-Graph cora: 2), `optimum_test` is the
report metric of the tie with the lowest index: ties are broken by index, never by the report metric. `evals_to_optimum` counts evaluations until
the best-so-far (by what the search observed) is one of the optimum's ties
(`Benchmark.optimum(dataset, metric).ties`). `oracle`: "mean" (the table's mean over training seeds)
or "seed" (one seed's result per evaluation). On a space priced in evaluations (`cost_unit`
"evaluations": NAS-Bench-Graph) the GPU-hour and clock columns are NaN and `cost_model` says so.
`index` columns are NB201's official index, the ordinal elsewhere.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..tables import nb201 as bench
from ..errors import UserError, plugin_call
from ..predictors.fit_cache import cached_fit
from .oracle import NOISE, Oracle, as_benchmark, check_budget, cost_model, fidelity_names, to_utility
from . import regret
from .protocol import FULL
from .runner import run_loop
from .surrogate import Surrogate, check_mode
from .isolation import (PROCESS, PredictorProcess, check_isolation, closes_plugin_processes, isolates_predictor,
                         strategy_for)
from .isolation import plugin_timeout as plugin_timeout_of
from .view import SearchView, private_copy
from ..plugins import get_plugins
from ..provenance import PROVENANCE_COLUMNS, provenance
from ..seeding import apply_seed

#: NB201: test accuracy (%) that counts as "good enough" on each dataset (`NB201Benchmark.threshold`).
#: CIFAR-10's 94.0 is the article's; the others sit a similar distance below their optimum (73.51,
#: 47.31): about the top 0.1% of cells. Other spaces: `Benchmark.threshold`.
THRESHOLDS: dict[str, float] = {"cifar10": 94.0, "cifar100": 73.0, "imagenet16": 46.0}

#: What identifies a setting: with the seed, the key under which rows are merged and replaced.
PROTOCOL_COLUMNS: tuple[str, ...] = (
    "space", "predictor", "loss", "search", "search_kwargs", "predictor_kwargs", "mode", "source", "dataset",
    "metric", "budget", "gpu_hours_budget", "workers", "refit_every", "warm_every", "n_train", "cost_model", "version",
    "oracle", "isolation",
)
#: Columns of the run row, in order (the CSV writers and the README use this list).
RUN_COLUMNS: tuple[str, ...] = (
    "predictor", "loss", "search", "mode", "source", "dataset", "metric", "budget", "seed", "n_train",
    "pretrain_evals", "pretrain_same_dataset", "pretrain_gpu_hours", "search_kwargs", "predictor_kwargs",
    "evals", "best_metric", "best_valid", "best_test", "best_index",
    "threshold", "evals_to_threshold", "reached_threshold",
    "optimum_metric", "evals_to_optimum", "reached_optimum", "optimum_test", "optimum_ties",
    "gpu_hours", "fit_seconds_total", "n_fits", "search_seconds_excl_fit", "search_seconds_per_eval", "version",
    "space", "gpu_hours_budget", "workers", "refit_every", "warm_every", "cost_model", "evals_12ep", "n_warm_starts",
    "gpu_hours_to_threshold", "gpu_hours_to_optimum", "clock_hours", "clock_hours_to_threshold",
    "clock_hours_to_optimum", "direction", "report_metric", "oracle", "isolation",
    "final_regret", "final_test_regret", "regret_auc", "evals_to_top10", "regret_eps",
) + PROVENANCE_COLUMNS
TRACE_COLUMNS: tuple[str, ...] = PROTOCOL_COLUMNS + (
    "seed", "eval", "index", "fidelity", "value", "test", "cost_gpu_hours", "best_value", "best_test", "best_index",
    "gpu_hours", "clock_hours", "direction", "report_metric", "regret", "test_regret",
) + PROVENANCE_COLUMNS


def _kwargs_text(kwargs: dict[str, Any]) -> str:
    return ";".join(f"{k}={kwargs[k]}" for k in sorted(kwargs))


def pretraining_set(table, source: str, metric: str, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(elements, labels as utilities, row indices) of the `n_train` pretraining elements of a seed,
    drawn from the source dataset's space. `table`: a `spaces.Benchmark` (or a NAS-Bench-201 table).
    Row indices are NB201's official indices, the ordinals elsewhere; NB201 labels are fractions."""
    bm = as_benchmark(table)
    source = bm.canonical_dataset(source)
    space = bm.space_of(source)
    if not 2 <= n_train <= space.size:
        raise UserError(f"n_train must be in 2..{space.size}, got {n_train}")
    cells = space.sample(np.random.default_rng([seed, 1]), n_train)
    ordinals = space.ordinals(cells)
    labels = to_utility(bm.metric(metric), bm.values(source, metric))[ordinals]
    order = getattr(bm, "_order", None) if bm.name == "nb201" else None
    indices = ordinals if order is None else np.asarray(order)[ordinals]
    return cells, np.asarray(labels, dtype=np.float32), indices


def seeded(model: Any, seed: int, explicit: dict) -> Any:
    """`model` given the run's seed by the one seeding rule of every command (`seeding.apply_seed`);
    a seed setting the user gave (`--set seed=...`) is kept."""
    apply_seed(model, seed, explicit)
    return model


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def resolve(dataset: str, space: Any = None, table: Any = None) -> tuple[Any, str]:
    """(benchmark, canonical dataset): `space` names the space (or is None: the one space that has a
    dataset of that name, `spaces.find_dataset`); `table` is a Benchmark or a NAS-Bench-201 table to
    use instead of loading one."""
    from .. import spaces

    if table is not None and not isinstance(table, bench.Table):
        bm = table
        if space is not None and str(space) != bm.name:
            raise UserError(f"space {space!r} does not match the benchmark given ({bm.name!r})")
    else:
        if space is not None:
            name = str(space)
        else:
            try:
                name = spaces.find_dataset(dataset)
            except UserError as exc:
                if "several spaces" in str(exc):
                    raise
                raise UserError(f"unknown dataset {dataset!r}: {exc}") from None
        if name not in spaces.names():
            raise UserError(f"unknown space {name!r}; known: {', '.join(spaces.names())}")
        if table is not None:
            if name != "nb201":
                raise UserError(f"a NAS-Bench-201 table was given for space {name!r}")
            bm = as_benchmark(table)
        else:
            bm = spaces.load(name)
    return bm, bm.canonical_dataset(dataset)


@closes_plugin_processes
def run_search(predictor: str | None, search: str, *, dataset: str = "cifar10", source: str | None = None,
               mode: str = "pretrained", budget: int | None = 210, metric: str = "valid", seed: int = 0,
               n_train: int = 900, loss: str | None = None, predictor_kwargs: dict | None = None,
               search_kwargs: dict | None = None, table=None, gpu_hours: float | None = None, workers: int = 1,
               refit_every: int = 1, warm_every: int = 0, space: Any = None, oracle: str = "mean",
               progress: Callable[[int], None] | None = None, isolation: str = PROCESS,
               plugin_timeout: float | None = None, regret_marks: list[int] | None = None,
               eps: list[float] | None = None) -> tuple[dict, list[dict]]:
    """Run one search and return (run row, trace rows).

    `dataset` is searched in `space` (a space name; None: the one space that has a dataset of that
    name). `table`: the benchmark to read (a `spaces.Benchmark`, or a NAS-Bench-201 `bench.Table`);
    default: the space's own. The budget is `budget` paid evaluations (any fidelity) and/or
    `gpu_hours` of training (refused on a space priced in evaluations); `workers` simulated GPUs
    evaluate asynchronously (1: sequential). `mode` says what the predictor learns from (see
    `loop.surrogate.Surrogate`); the framework refits it before every ask when `refit_every` new
    full-fidelity observations have arrived, and warm-starts it (`partial_fit`) every `warm_every`
    observations in between (0: never). Without a predictor `mode` must stay at its default and the
    row says `none`. Pretraining labels are the source dataset's search metric as utilities (higher
    is better; NB201: fractions); `source` defaults to cifar10 on NB201 and to the searched dataset
    elsewhere; when source == dataset they are evaluations of the searched dataset and the row counts
    them in `pretrain_evals` with `pretrain_same_dataset` True. The predictor is seeded by `seeded`
    and given the benchmark's whole space (`spaces.give_space`). `oracle`: "mean" (the table's value)
    or "seed" (one training seed's result per evaluation, see `loop.oracle.Oracle`). `isolation`:
    "process" (the strategy, and a third-party predictor, each run in a process of their own that
    holds no table: `loop.isolation`) or "in-process" (faster; the rows say so); `plugin_timeout`:
    seconds a plugin's process may take per call (default: $NASBENCH_RANK_PLUGIN_TIMEOUT, else 600).

    Every row also carries the regret columns of `loop.regret` (definitions:
    docs/concepts/search-protocol.md): `regret_marks` (evaluation marks; default
    `loop.regret.EVAL_MARKS` within the budget; a mark past the budget is refused) and `eps` (default:
    the space's); every trace row its incumbent's `regret` and `test_regret`.
    """
    from ..spaces import give_benchmark, give_space

    check_isolation(isolation)
    timeout_s = plugin_timeout_of(plugin_timeout)

    plugins = get_plugins()
    bm, dataset = resolve(dataset, space, table)
    if source is None:
        source = "cifar10" if bm.name == "nb201" else dataset
    source = bm.canonical_dataset(source)
    if bm.name == "nb201":
        bench.check_metric(metric)
    metric = bm.metric(metric).name
    check_mode(mode)
    if oracle not in NOISE:
        raise UserError(f"unknown oracle {oracle!r}; known: {', '.join(NOISE)}")
    seed = _check_int("seed", seed, 0)
    if budget is not None:
        budget = _check_int("budget", budget, 1)
    if gpu_hours is not None:
        if isinstance(gpu_hours, bool) or not isinstance(gpu_hours, (int, float, np.floating)):
            raise UserError(f"GPU-hours must be a positive number, got {gpu_hours!r}")
        gpu_hours = float(gpu_hours)
    searched = bm.space_of(dataset)
    check_budget(budget, gpu_hours, searched.size, searched.name, bm.cost_unit)
    if regret_marks is not None:
        regret_marks = regret.check_marks(regret_marks, budget)
    if eps is not None:
        eps = regret.check_eps(eps)
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
    strategy = strategy_for(search, search_kwargs, searched, isolation, timeout_s)
    init = int(getattr(strategy, "init", 0) or 0)
    if budget is not None and init > budget:
        raise UserError(f"budget {budget} is smaller than the {init} cells search {search!r} starts with")
    fidelities = fidelity_names(bm, dataset)
    missing = [f for f in getattr(strategy, "needs_fidelities", ()) if f not in fidelities]
    if missing:
        raise UserError(f"search {search!r} needs the {missing[0]}-epoch fidelity; dataset {dataset!r} of space "
                        f"{bm.name!r} has only the full one")
    rng_oracle = np.random.default_rng([seed, 3])
    the_oracle = Oracle(bm, dataset, metric, noise=oracle, rng=rng_oracle)  # refuses 'seed' without per-seed data

    explicit = dict(predictor_kwargs)

    def build() -> Any:
        model = seeded(plugins.predictors.create(predictor, **predictor_kwargs), seed, explicit)
        give_space(model, bm.space, predictor, explicit)  # the whole space, also for a subspace's dataset
        give_benchmark(model, bm, explicit)  # only a proxy that reads results declares `benchmark`
        return model

    make = None if predictor is None else build
    remote = None
    if predictor is not None and isolates_predictor(predictor, isolation):
        remote = PredictorProcess(predictor, plugins.predictors.get(predictor).factory, predictor_kwargs, seed, explicit,
                                  bm.space, timeout_s)
        make = remote.model  # built, seeded and given its space in its own process
    if make is not None:  # built once now: a rejected setting fails, and imports happen, before any fit
        prototype = make()
        if getattr(strategy, "needs_std", False) and not callable(getattr(prototype, "predict_std", None)):
            raise UserError(f"search {search!r} needs a predictor with predict_std (an ensemble, e.g. "
                            f"'xgb-ensemble'); {predictor!r} has none")
    pretraining = predictor is not None and mode != "online"
    pre_cells = pre_y = pre_idx = None
    if pretraining:
        pre_cells, pre_y, pre_idx = pretraining_set(bm, source, metric, n_train, seed)
    frozen = None
    if pretraining:
        def fit() -> tuple[Any, float]:
            model, start = make(), time.perf_counter()
            with plugin_call("predictor", predictor, "fit"):
                model.fit(pre_cells, pre_y)
            return model, time.perf_counter() - start

        key = (predictor, json.dumps(predictor_kwargs, sort_keys=True, default=str), bm.name, source, metric,
               n_train, seed)
        # shared by the grid's workers; never unpickled (a predictor in its own process fits for each run)
        frozen = fit() if remote is not None else cached_fit(key, fit, bm.checksum(source).sha256, make=make)
    surrogate = Surrogate(make, mode, pre_cells, pre_y, same_dataset=source == dataset, frozen=frozen,
                          refit_every=refit_every, warm_every=warm_every, name=predictor or "none",
                          space=private_copy(searched))
    pretrain_fit = surrogate.fit_seconds

    view = SearchView(np.random.default_rng([seed, 2]), surrogate.scorer if surrogate.active else None,
                      workers=workers, evals_left=budget, gpu_hours_left=gpu_hours, space_=searched,
                      fidelities=tuple(fidelities))
    start = time.perf_counter()
    run_loop(strategy, search, the_oracle, surrogate, view, max_evals=budget, max_gpu_hours=gpu_hours,
             workers=workers, progress=progress)
    wall = time.perf_counter() - start
    search_fit = surrogate.fit_seconds - pretrain_fit

    protocol = {
        "space": bm.name, "predictor": predictor or "none", "loss": loss or "", "search": search,
        "search_kwargs": _kwargs_text(search_kwargs),
        "predictor_kwargs": _kwargs_text({k: v for k, v in predictor_kwargs.items() if k != "loss"}),
        "mode": mode if predictor is not None else "none", "source": source if pretraining else "",
        "dataset": dataset, "metric": metric, "budget": budget if budget is not None else "",
        "gpu_hours_budget": gpu_hours if gpu_hours is not None else "", "workers": workers,
        "refit_every": refit_every, "warm_every": warm_every,
        "n_train": n_train if pretraining else 0, "cost_model": cost_model(bm, dataset), "version": __version__,
        "oracle": oracle, "isolation": isolation,
    }
    prov = provenance(bm.checksum(dataset))
    hours = bm.cost_unit == "seconds"
    trace = _trace(the_oracle, protocol, seed, prov, hours)
    run = _summary(bm, the_oracle, trace, protocol, seed, hours)
    regret_row, regret_trace = regret.of_ledger(the_oracle, bm, budget, regret_marks, eps)
    trace = [{c: {**row, **extra}[c] for c in TRACE_COLUMNS} for row, extra in zip(trace, regret_trace)]
    run.update(regret_row)
    if pretraining and hours:
        pre_hours = float(np.asarray(bm.cost(source), dtype=np.float64)[bm.space_of(source).ordinals(pre_cells)].sum()
                          / 3600.0)
    else:
        pre_hours = 0.0 if not pretraining else math.nan
    run.update(
        pretrain_evals=len(pre_idx) if pretraining else 0,
        pretrain_same_dataset=bool(pretraining and source == dataset),
        pretrain_gpu_hours=pre_hours,
        fit_seconds_total=surrogate.fit_seconds,
        n_fits=surrogate.n_fits,
        n_warm_starts=surrogate.n_warm,
        search_seconds_excl_fit=wall - search_fit,
        search_seconds_per_eval=(wall - search_fit) / max(the_oracle.n_evals, 1),
        **prov,
    )
    return {**{c: run[c] for c in RUN_COLUMNS}, **regret_row}, trace


def _trace(oracle: Oracle, protocol: dict, seed: int, prov: dict, hours: bool = True) -> list[dict]:
    """One row per paid evaluation, in the order they finished; best-so-far over full-fidelity results
    (by utility). `value` and `best_value` are in the search metric's own units (NB201: percent; a
    `min` metric's own value, not its negation); `test` is the report metric. GPU-hour and clock
    columns are NaN on a space priced in evaluations."""
    rows, best = [], None
    nan = math.nan
    for e in oracle.ledger:
        if e.fidelity == FULL and (best is None or e.value > best.value):
            best = e
        rows.append({**protocol, "seed": seed, "eval": e.number, "index": e.index, "fidelity": e.fidelity,
                     "value": oracle.to_metric(e.value), "test": e.test,
                     "cost_gpu_hours": e.cost / 3600.0 if hours else nan,
                     "best_value": oracle.to_metric(best.value) if best else nan,
                     "best_test": best.test if best else nan, "best_index": best.index if best else -1,
                     "gpu_hours": e.gpu_seconds / 3600.0 if hours else nan,
                     "clock_hours": e.finished_at / 3600.0 if hours else nan,
                     "direction": oracle.direction, "report_metric": oracle.report_metric, **prov})
    return rows


def _first(trace: list[dict], hit, column: str = "eval") -> float:
    """`column` of the first trace row whose best-so-far satisfies `hit`; NaN when none does (censored)."""
    return next((float(r[column]) for r in trace if hit(r)), math.nan)


def threshold_of(bm, dataset: str) -> float:
    """The report metric's value that counts as "good enough" (`Benchmark.threshold`: NB201 keeps
    `THRESHOLDS`; elsewhere the value of the best 0.1% of elements)."""
    return float(bm.threshold(dataset))


def _summary(bm, oracle: Oracle, trace: list[dict], protocol: dict, seed: int, hours: bool = True) -> dict:
    dataset, metric = protocol["dataset"], protocol["metric"]
    opt = bm.optimum(dataset, metric)
    optima = set(oracle.row_index(o) for o in opt.ties)
    opt_ordinal = min(opt.ties, key=oracle.row_index)  # NB201: the lowest official index, as always
    report = oracle.report_metric
    report_values = bm.values(dataset, report)
    threshold = threshold_of(bm, dataset)
    report_max = bm.metric(report).direction == "max"
    best = oracle.best(FULL)
    # NaN before any full-fidelity result: False either way
    at_threshold = (lambda r: r["best_test"] >= threshold) if report_max else (lambda r: r["best_test"] <= threshold)
    at_optimum = lambda r: r["best_index"] in optima  # noqa: E731
    to_threshold = _first(trace, at_threshold)
    to_optimum = _first(trace, at_optimum)
    nan = math.nan
    valid = bm.values(dataset, "valid") if "valid" in bm.metrics else None
    best_ordinal = oracle.ordinal_of(best.cell) if best else None
    return {
        **protocol, "seed": seed, "evals": oracle.n_evals,
        "evals_12ep": sum(e.fidelity != FULL for e in oracle.ledger),
        "best_metric": oracle.to_metric(best.value) if best else nan,
        "best_valid": float(valid[best_ordinal]) if best and valid is not None else nan,
        "best_test": best.test if best else nan,
        "best_index": best.index if best else -1,
        "threshold": threshold, "evals_to_threshold": to_threshold, "reached_threshold": not math.isnan(to_threshold),
        "optimum_metric": float(opt.value), "evals_to_optimum": to_optimum, "reached_optimum": not math.isnan(to_optimum),
        "optimum_test": float(report_values[opt_ordinal]), "optimum_ties": len(opt.ties),
        "gpu_hours": oracle.gpu_seconds / 3600.0 if hours else nan,
        "gpu_hours_to_threshold": _first(trace, at_threshold, "gpu_hours") if hours else nan,
        "gpu_hours_to_optimum": _first(trace, at_optimum, "gpu_hours") if hours else nan,
        "clock_hours": max((e.finished_at for e in oracle.ledger), default=0.0) / 3600.0 if hours else nan,
        "clock_hours_to_threshold": _first(trace, at_threshold, "clock_hours") if hours else nan,
        "clock_hours_to_optimum": _first(trace, at_optimum, "clock_hours") if hours else nan,
        "direction": oracle.direction, "report_metric": report,
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
