"""`nasbench-rank run`: one search, repeated over seeds, printed and merged into runs.csv / trace.csv."""

from __future__ import annotations

import inspect
import math
import sys
from pathlib import Path
from typing import Any

import click

from .. import atomic
from ..tables import nb201 as bench
from ..errors import UserError
from ..loop.oracle import NOISE
from ..loop.surrogate import MODES
from ..plugins import get_plugins
from ..provenance import unverified_note
from ..loop.runs import PROTOCOL_COLUMNS, RUN_COLUMNS, TRACE_COLUMNS, summarise


def parse_value(text: str) -> Any:
    """`3` -> int, `0.5` -> float, `true`/`false` -> bool, `none` -> None, anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_settings(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} expects key=value, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


def check_types(obj: Any, settings: dict[str, Any], option: str, name: str) -> None:
    """Refuse a setting whose value has the wrong type for the constructor default it replaces
    (`--set n_estimators=abc`), before anything is fitted."""
    try:
        parameters = inspect.signature(type(obj)).parameters
    except (TypeError, ValueError):
        return
    kinds = {"int": int, "float": float, "bool": bool}
    for key, value in settings.items():
        parameter = parameters.get(key)
        if parameter is None or value is None:
            continue
        annotation = parameter.annotation
        annotation = getattr(annotation, "__name__", annotation)
        if annotation is inspect.Parameter.empty and parameter.default not in (inspect.Parameter.empty, None):
            annotation = type(parameter.default).__name__
        expected = kinds.get(annotation) if isinstance(annotation, str) else None
        if expected is None:
            continue  # a union, text or anything else: the plugin checks it itself
        if expected is bool:
            ok = isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise UserError(f"{option} {key}={value!r}: {name} expects {expected.__name__} for {key}")


def merge_rows(path: Path, rows: list[dict], columns: tuple[str, ...], key: tuple[str, ...]) -> None:
    """Write `rows` into the CSV at `path`, keeping its earlier rows except those with the same `key`
    (protocol and seed): rerunning a seed replaces its rows; other settings and seeds stay."""
    import io

    import pandas as pd

    new = pd.read_csv(io.StringIO(pd.DataFrame(rows, columns=list(columns)).to_csv(index=False)), dtype=str,
                      keep_default_na=False)
    if path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        if all(k in old.columns for k in key):
            replaced = set(new[list(key)].itertuples(index=False, name=None))
            old = old[[r not in replaced for r in old[list(key)].itertuples(index=False, name=None)]]
        merged = pd.concat([old, new], ignore_index=True).fillna("")
        merged = merged[list(columns) + [c for c in merged.columns if c not in columns]]
    else:
        merged = new
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_with(path, lambda tmp: merged.to_csv(tmp, index=False))


def _evals(value: float, budget: int | None) -> str:
    if math.isinf(value) or math.isnan(value):
        return f">{budget}" if budget is not None else "not reached"
    return f"{value:g}"


def _hours(value: float) -> str:
    return "not reached" if math.isinf(value) or math.isnan(value) else f"{value:.1f}"


def _value(row: dict, column: str, percent: bool) -> str:
    value = row[column]
    return f"{value:.2f}%" if percent else f"{value:.6g}"


@click.command()
@click.option("--predictor", default=None, help="predictor plugin (see `nasbench-rank plugins`); omit for a search without one")
@click.option("--search", "search", default="topk", show_default=True, help="search strategy plugin")
@click.option("--space", default=None,
              help="search space (see `nasbench-rank plugins`) [default: the one space that has --dataset]")
@click.option("--dataset", default="cifar10", show_default=True,
              help="dataset searched (nb201: cifar10, cifar100, imagenet16; nbgraph: cora, ...; fcnet: naval_propulsion, ...)")
@click.option("--source", default=None,
              help="dataset the predictor is pretrained on [default: cifar10 on nb201, else the searched one]")
@click.option("--mode", type=click.Choice(MODES), default=None, help="what the predictor learns from [default: pretrained]")
@click.option("--budget", type=click.IntRange(min=1), default=None,
              help="paid evaluations (any fidelity) [default: 210 unless only --gpu-hours is given]")
@click.option("--gpu-hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="GPU-hours of training the search may spend (alone or with --budget; not on a space without "
                   "training times)")
@click.option("--workers-sim", type=click.IntRange(min=1), default=1, show_default=True,
              help="simulated parallel workers (GPUs) evaluating asynchronously")
@click.option("--refit-every", type=click.IntRange(min=1), default=1, show_default=True,
              help="full refit of an online predictor after this many new full-fidelity results")
@click.option("--warm-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="warm start (partial_fit) between full refits after this many new results; 0: never")
@click.option("--metric", default="valid", show_default=True,
              help="the metric the search sees (nb201: valid or test; a metric of the space)")
@click.option("--oracle", "oracle", type=click.Choice(NOISE), default="mean", show_default=True,
              help="what an evaluation returns: the mean over training seeds, or one seed's result drawn with the "
                   "run's rng (where the data has per-seed results)")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True, help="how many seeds to run")
@click.option("--seed-start", type=click.IntRange(min=0), default=0, show_default=True, help="first seed")
@click.option("--n-train", type=int, default=900, show_default=True, help="pretraining cells (pretrained modes)")
@click.option("--loss", default=None, help="loss plugin for torch predictors")
@click.option("--out-dir", type=click.Path(file_okay=False), default="results/run", show_default=True,
              help="where runs.csv and trace.csv go (merged: a rerun seed replaces its rows)")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None, help="NAS-Bench-201 table CSV")
@click.option("--set", "predictor_set", multiple=True, metavar="KEY=VALUE", help="predictor setting (repeatable)")
@click.option("--search-set", multiple=True, metavar="KEY=VALUE", help="search setting, e.g. pool=all (repeatable)")
@click.option("--in-process", is_flag=True, default=False,
              help="run the strategy and predictor in this process (faster; rows say isolation=in-process; a plugin "
                   "can then reach the table, see docs/concepts/threat-model.md) [default: each in a process of its own]")
@click.option("--plugin-timeout", type=str, default=None, metavar="SECONDS",
              help="the most seconds a plugin's process may take per call [default: $NASBENCH_RANK_PLUGIN_TIMEOUT or 600]")
def run(predictor: str | None, search: str, space: str | None, dataset: str, source: str | None, mode: str | None,
        budget: int | None, gpu_hours: float | None, workers_sim: int, refit_every: int, warm_every: int, metric: str,
        oracle: str, seeds: int, seed_start: int, n_train: int, loss: str | None, out_dir: str, data_path: str | None,
        predictor_set: tuple[str, ...], search_set: tuple[str, ...], in_process: bool = False,
        plugin_timeout: str | None = None) -> None:
    """Search a space (NAS-Bench-201 by default) with a predictor and a strategy; print per-seed and
    overall figures (best values in the metric's own units, better by its direction)."""
    from tqdm import tqdm

    from ..loop.oracle import Oracle, check_budget, cost_model
    from ..loop.runs import resolve, run_search

    from ..loop.isolation import IN_PROCESS, PROCESS
    from ..loop.isolation import plugin_timeout as check_timeout

    if mode is not None and predictor is None:
        raise UserError(f"--mode {mode} needs --predictor")
    if plugin_timeout is not None:
        try:
            timeout_s = check_timeout(plugin_timeout)
        except UserError as exc:
            raise UserError(f"--plugin-timeout: {exc}") from None
    else:
        timeout_s = check_timeout(None)
    if budget is None and gpu_hours is None:
        budget = 210
    table = None
    if data_path is not None:
        if space not in (None, "nb201"):
            raise UserError(f"--data is a NAS-Bench-201 table; space {space!r} reads its own data")
        table = bench.load(data_path)
    bm, dataset = resolve(dataset, space, table)
    if bm.name == "nb201" and table is None:
        table = bench.load()
    metric = bm.metric(metric).name
    if bm.name == "nb201":
        bench.check_metric(metric)
    searched = bm.space_of(dataset)
    check_budget(budget, gpu_hours, searched.size, searched.name, bm.cost_unit)
    if source is not None:
        bm.canonical_dataset(source)
    Oracle(bm, dataset, metric, noise=oracle)  # refuses an oracle the data cannot give, before anything runs
    predictor_kwargs = parse_settings(predictor_set, "--set")
    search_kwargs = parse_settings(search_set, "--search-set")
    plugins = get_plugins()  # names, settings and dataset checked before the first seed prints anything
    check_types(plugins.searches.create(search, **search_kwargs), search_kwargs, "--search-set", f"search {search!r}")
    if predictor is not None:
        check_types(plugins.predictors.create(predictor, **predictor_kwargs), predictor_kwargs, "--set",
                    f"predictor {predictor!r}")
    if loss is not None:
        plugins.losses.get(loss)
    note = unverified_note(table) if table is not None else None
    if note:
        click.echo(note, err=True)
    out = Path(out_dir)
    runs: list[dict] = []
    key = PROTOCOL_COLUMNS + ("seed", "table_sha256")  # rows from another table stay beside these
    percent = bm.metric(metric).unit == "%"
    report_percent = lambda r: bm.metric(r["report_metric"]).unit == "%"  # noqa: E731
    for i, seed in enumerate(range(seed_start, seed_start + seeds), start=1):
        click.echo(f"[{i}/{seeds}] seed {seed}: {predictor or 'no predictor'} + {search} on {dataset} ({bm.name}) ...",
                   err=True)
        with tqdm(total=budget, desc=f"seed {seed}", unit="eval", file=sys.stderr, leave=False, disable=None) as bar:
            row, rows = run_search(predictor, search, dataset=dataset, source=source, mode=mode or "pretrained",
                                   budget=budget, gpu_hours=gpu_hours, workers=workers_sim, refit_every=refit_every,
                                   warm_every=warm_every, metric=metric, seed=seed, n_train=n_train, loss=loss,
                                   predictor_kwargs=predictor_kwargs, search_kwargs=search_kwargs,
                                   table=table if bm.name == "nb201" else bm, space=bm.name, oracle=oracle,
                                   isolation=IN_PROCESS if in_process else PROCESS, plugin_timeout=timeout_s,
                                   progress=lambda n: bar.update(n - bar.n))
        runs.append(row)
        report, rpct = row["report_metric"], report_percent(row)
        better = "higher" if row["direction"] == "max" else "lower"
        if bm.cost_unit == "seconds":
            hours = (f" (GPU-h {_hours(row['gpu_hours_to_optimum'])}, wall-clock h {_hours(row['clock_hours_to_optimum'])})",
                     f"  GPU-hours {row['gpu_hours']:.1f}")
        else:
            hours = ("", "")
        if bm.name == "nb201":
            best = (f"best test {row['best_test']:.2f}% (index {row['best_index']}, {metric} {row['best_metric']:.2f}%)")
            to = f"to {row['threshold']:g}% test"
        else:
            if report == metric:  # no test metric: the report is the table's mean of the search metric
                mean = f", mean over seeds {_value(row, 'best_test', rpct)}" if oracle == "seed" else ""
                best = (f"best {metric} {_value(row, 'best_metric', percent)} (index {row['best_index']}{mean}, "
                        f"{better} is better)")
            else:
                best = (f"best {report} {_value(row, 'best_test', rpct)} (index {row['best_index']}, {metric} "
                        f"{_value(row, 'best_metric', percent)}, {better} is better)")
            to = f"to {report} {'>=' if bm.metric(report).direction == 'max' else '<='} {row['threshold']:.6g}"
        click.echo(
            f"seed {seed}: {best}"
            f"  evals to optimum {_evals(row['evals_to_optimum'], budget)}{hours[0]}"
            f"  {to} {_evals(row['evals_to_threshold'], budget)}"
            f"{hours[1]}  fit {row['fit_seconds_total']:.1f}s"
            f"  search {1000 * row['search_seconds_per_eval']:.1f} ms/eval"
        )
        # merged after every seed: an interrupted run keeps the seeds it finished, and earlier rows stay
        merge_rows(out / "runs.csv", [row], RUN_COLUMNS, key)
        merge_rows(out / "trace.csv", rows, TRACE_COLUMNS, key)
    s = summarise(runs)
    if bm.name == "nb201":
        best = f"best test {s['best_test_mean']:.2f} ± {s['best_test_std']:.2f}%"
        optimum = f"optimum ({runs[0]['optimum_metric']:.2f}% {metric})"
    else:
        best = f"best {runs[0]['report_metric']} {s['best_test_mean']:.6g} ± {s['best_test_std']:.2g}"
        optimum = f"optimum ({metric} {runs[0]['optimum_metric']:.6g}, {runs[0]['direction']})"
    click.echo(
        f"overall ({s['seeds']} seeds): {best}"
        f" (mean ± sd over {s['seeds']} seeds)"
        f"  {optimum} reached {100 * s['reached_optimum']:.0f}%"
        f"  median evals to optimum {_evals(s['median_evals_to_optimum'], budget)}"
        f"  to threshold {_evals(s['median_evals_to_threshold'], budget)}"
        f"  pretraining evals {runs[0]['pretrain_evals']}  cost model {cost_model(bm, dataset)}"
        f"  oracle {oracle}"
    )
    click.echo(f"wrote {out / 'runs.csv'} and {out / 'trace.csv'}")
