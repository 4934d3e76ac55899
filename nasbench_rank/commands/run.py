"""`nasbench-rank run`: one predictor-guided search, repeated over seeds, printed and written as CSV."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from .. import bench
from ..errors import UserError
from ..plugins import get_plugins
from ..search import RUN_COLUMNS, TRACE_COLUMNS, summarise
from ..loop.surrogate import MODES


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


def write_csv_atomic(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pd.DataFrame(rows, columns=list(columns)).to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _evals(value: float, budget: int) -> str:
    return f">{budget}" if math.isinf(value) or math.isnan(value) else f"{value:g}"


@click.command()
@click.option("--predictor", default=None, help="predictor plugin (see `nasbench-rank plugins`); omit for a search without one")
@click.option("--search", "search", default="topk", show_default=True, help="search strategy plugin")
@click.option("--dataset", default="cifar10", show_default=True, help="dataset searched: cifar10, cifar100, imagenet16")
@click.option("--source", default="cifar10", show_default=True, help="dataset the predictor is pretrained on")
@click.option("--mode", type=click.Choice(MODES), default=None, help="what the predictor learns from [default: pretrained]")
@click.option("--budget", type=int, default=210, show_default=True, help="distinct evaluations the search may pay for")
@click.option("--metric", type=click.Choice(bench.METRICS), default="valid", show_default=True, help="the metric the search sees")
@click.option("--seeds", type=int, default=1, show_default=True, help="how many seeds to run")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--n-train", type=int, default=900, show_default=True, help="pretraining cells (pretrained modes)")
@click.option("--loss", default=None, help="loss plugin for torch predictors")
@click.option("--out-dir", type=click.Path(file_okay=False), default="results/run", show_default=True,
              help="where runs.csv and trace.csv go (replaced)")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None, help="table CSV")
@click.option("--set", "predictor_set", multiple=True, metavar="KEY=VALUE", help="predictor setting (repeatable)")
@click.option("--search-set", multiple=True, metavar="KEY=VALUE", help="search setting, e.g. pool=all (repeatable)")
def run(predictor: str | None, search: str, dataset: str, source: str, mode: str | None, budget: int, metric: str,
        seeds: int, seed_start: int, n_train: int, loss: str | None, out_dir: str, data_path: str | None,
        predictor_set: tuple[str, ...], search_set: tuple[str, ...]) -> None:
    """Search NAS-Bench-201 with a predictor and a strategy; print per-seed and overall figures."""
    from ..search import run_search

    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    if mode is not None and predictor is None:
        raise UserError(f"--mode {mode} needs --predictor")
    predictor_kwargs = parse_settings(predictor_set, "--set")
    search_kwargs = parse_settings(search_set, "--search-set")
    plugins = get_plugins()  # names and dataset checked before the first seed prints anything
    plugins.searches.get(search)
    if predictor is not None:
        plugins.predictors.get(predictor)
    if loss is not None:
        plugins.losses.get(loss)
    bench.canonical_dataset(dataset)
    bench.canonical_dataset(source)
    table = bench.load(data_path)
    out = Path(out_dir)
    runs: list[dict] = []
    trace: list[dict] = []
    for i, seed in enumerate(range(seed_start, seed_start + seeds), start=1):
        click.echo(f"[{i}/{seeds}] seed {seed}: {predictor or 'no predictor'} + {search} on {dataset} ...", err=True)
        row, rows = run_search(predictor, search, dataset=dataset, source=source, mode=mode or "pretrained",
                               budget=budget, metric=metric, seed=seed, n_train=n_train, loss=loss,
                               predictor_kwargs=predictor_kwargs, search_kwargs=search_kwargs, table=table)
        runs.append(row)
        trace.extend(rows)
        click.echo(
            f"seed {seed}: best test {row['best_test']:.2f}% (index {row['best_index']}, {metric} {row['best_metric']:.2f}%)"
            f"  evals to optimum {_evals(row['evals_to_optimum'], budget)}"
            f"  to {row['threshold']:g}% test {_evals(row['evals_to_threshold'], budget)}"
            f"  gpu-hours {row['gpu_hours']:.1f}  fit {row['fit_seconds_total']:.1f}s"
            f"  search {1000 * row['search_seconds_per_eval']:.1f} ms/eval"
        )
        # rewritten after every seed: an interrupted run keeps the seeds it finished
        write_csv_atomic(out / "runs.csv", runs, RUN_COLUMNS)
        write_csv_atomic(out / "trace.csv", trace, TRACE_COLUMNS)
    s = summarise(runs)
    click.echo(
        f"overall ({s['seeds']} seeds): best test {s['best_test_mean']:.2f} +- {s['best_test_std']:.2f}%"
        f"  optimum ({runs[0]['optimum_metric']:.2f}% {metric}) reached {100 * s['reached_optimum']:.0f}%"
        f"  median evals to optimum {_evals(s['median_evals_to_optimum'], budget)}"
        f"  to threshold {_evals(s['median_evals_to_threshold'], budget)}"
        f"  pretraining evals {runs[0]['pretrain_evals']}"
    )
    click.echo(f"wrote {out / 'runs.csv'} and {out / 'trace.csv'}")
