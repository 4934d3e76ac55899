"""`nasbench-rank eval`: predictor quality over seeds, with zero-shot transfer to other datasets."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..tables import nb201 as bench
from ..errors import UserError
from ..grid.spec import settings_problem, space_problem
from .. import plugins as _plugins
from .checks import check_folder
from ..provenance import unverified_note
from ..quality.protocol import (NB201_ONLY_PROTOCOLS, PROTOCOLS, check_encodable, check_output, evaluate_seeds,
    existing_keys, load_benchmark, named_protocol, pool_about, protocol_settings, read_rows, resolve_protocol, row_key,
    space_pool, space_name as find_space, summarize, write_rows)

NB201_SOURCE = "cifar10"
NB201_TARGETS = ("cifar10", "cifar100", "imagenet16")


def parse_settings(pairs: tuple[str, ...]) -> dict:
    """``key=value`` pairs; values are read as JSON where they parse (numbers, true, lists), else text."""
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {pair!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def parse_n_test(value: str | int) -> int | str:
    if value in ("rest", "all") or isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise UserError(f"--n-test must be a number, 'rest' or 'all', got {value!r}") from None


def resolve_datasets(space: str | None, source: str | None, targets: str | None) -> tuple[str, str, list[str]]:
    """(space, source, targets) from the options: the space given, else the one that has --source,
    else nb201; --source defaults to nb201's cifar10 or the space's first dataset; --target to every
    dataset of the space (nb201: cifar10, cifar100, imagenet16), 'all' meaning the same."""
    if space is None:
        space = find_space(None, source) if source is not None else "nb201"
    else:
        space = find_space(space, source or "")
    if space == "nb201":
        source = source if source is not None else NB201_SOURCE
        every = list(NB201_TARGETS)
    else:
        bm = load_benchmark(space)
        source = bm.canonical_dataset(source) if source is not None else bm.datasets[0]
        every = [source] + [d for d in bm.datasets if d != source]
    names = [t.strip() for t in targets.split(",") if t.strip()] if targets is not None else ["all"]
    if "all" in names:
        if len(names) > 1:
            raise UserError(f"--target all means every dataset of the space; give it alone, not with {', '.join(n for n in names if n != 'all')}")
        names = every
    return space, source, names


def protocol_choice(name: str, pool: str | None, metric: str | None, score_metric: str | None, n_train: int | None,
                    n_test: str | None) -> tuple[dict, str]:
    """The named protocol's settings with the options the user gave on top, and the protocol name the
    rows carry: the name when nothing it fixes was changed, else "" (a custom protocol)."""
    fixed = protocol_settings(name)
    settings = {"pool": pool or fixed["pool"], "metric": metric or fixed["metric"],
                "n_train": n_train if n_train is not None else fixed["n_train"][0],
                "n_test": parse_n_test(n_test if n_test is not None else fixed["n_test"])}
    settings["score_metric"] = score_metric or (fixed["score_metric"] if metric is None else settings["metric"])
    return settings, named_protocol(name, **settings)


@click.command(name="eval")
@click.option("--predictor", default=None,
              help="registered predictor name (see `nasbench-rank plugins`); required unless --load-predictor")
@click.option("--loss", default=None, help="loss plugin to train with (torch predictors)")
@click.option("--space", "space_name", default=None,
              help="search space (see `nasbench-rank plugins`); default: the space of --source, nb201 without one")
@click.option("--source", default=None,
              help="dataset whose labels the predictor is fit on [nb201: cifar10; another space: its first dataset]")
@click.option("--target", "targets", default=None,
              help="comma-separated datasets of the same space to score on, or 'all' (every dataset of the space); "
                   "others than the source are zero-shot transfer [all: nb201's cifar10,cifar100,imagenet16]")
@click.option("--protocol", "protocol_name", default="functional", show_default=True,
              type=click.Choice(list(PROTOCOLS)),
              help="named protocol: functional (leak-free: one cell per functional class, valid, 900 train, rest "
                   "test; on a space without equivalence every element), unique, article (full pool 900/100 test: "
                   "leaky), pinat, naslib (these four: nb201 only); the options below override it")
@click.option("--pool", default=None,
              help="functional (nb201: 4,930 cells; another space: one element per equivalence class), unique "
                   "(nb201 only: 6,466) or full (every element) [protocol's]")
@click.option("--n-train", default=None, type=int, help="training cells [protocol's first size]")
@click.option("--n-test", default=None,
              help="held-out cells, 'rest' (the whole remaining pool) or 'all' (every pool cell, training "
                   "cells included) [protocol's]")
@click.option("--metric", default=None,
              help="metric trained on (nb201: valid or test accuracy, 200 epochs; another space: its metrics, see "
                   "`data info --space`) [protocol's]")
@click.option("--score-metric", default=None, help="metric scored on [protocol's; --metric when that is given]")
@click.option("--seeds", default=10, show_default=True, type=int, help="how many seeds (each draws a new split)")
@click.option("--seed-start", default=0, show_default=True, type=int, help="first seed")
@click.option("--output", default="results/eval.csv", show_default=True,
              help="CSV the rows are merged into; rows of the same protocol already there are skipped")
@click.option("--overwrite", is_flag=True, help="recompute rows already in --output and replace them")
@click.option("--save-predictor", "save_dir", default=None,
              help="save each fitted predictor to DIR/seed-<seed>")
@click.option("--load-predictor", "load_dir", default=None,
              help="score the predictors saved in DIR (by --save-predictor: DIR/seed-<seed>, or one such folder) "
                   "again on --target, without refitting, on the protocol each was saved with")
@click.option("--data", "data_path", default=None, type=click.Path(dir_okay=False), help="table CSV")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="predictor setting, repeatable")
def eval_(predictor: str, loss: str | None, space_name: str | None, source: str | None, targets: str | None,
          protocol_name: str, pool: str | None,
          n_train: int | None, n_test: str | None, metric: str | None, score_metric: str | None, seeds: int,
          seed_start: int, output: str, overwrite: bool, save_dir: str | None, load_dir: str | None,
          data_path: str | None, settings: tuple[str, ...]) -> None:
    """Fit PREDICTOR on seeded training cells of --source; score held-out cells on every --target.

    The default protocol is `functional` (leak-free); `--protocol article` is the old default.
    With --load-predictor, saved predictors are scored again instead, without refitting."""
    if load_dir is not None:
        eval_saved(load_dir, targets, output, data_path)
        return
    if predictor is None:
        raise UserError("give --predictor NAME (or --load-predictor DIR to score saved predictors)")
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    if seed_start < 0:
        raise UserError(f"--seed-start must be >= 0, got {seed_start}")
    check_output(output)
    if save_dir is not None:
        check_encodable(save_dir, "--save-predictor")
        check_folder(save_dir, "--save-predictor")
    chosen, named = protocol_choice(protocol_name, pool, metric, score_metric, n_train, n_test)
    space_name, source, target_list = resolve_datasets(space_name, source, targets)
    plugins = _plugins.get_plugins()  # looked up at call time: an embedding program may replace it
    plugins.predictors.get(predictor)  # an unknown name first, in the registry's words
    problem = settings_problem(plugins, "predictor", predictor, parse_settings(settings), "--set")
    if problem:
        raise UserError(problem)
    if space_name != "nb201":
        problem = space_problem(plugins, predictor, load_benchmark(space_name).space_of(source))
        if problem:
            raise UserError(problem)
    if space_name != "nb201" and protocol_name in NB201_ONLY_PROTOCOLS:
        raise UserError(f"protocol {protocol_name!r} is defined on nb201 only, not on space {space_name!r}; "
                        f"use --protocol functional or set the pool and sizes")
    if space_name == "nb201":
        table = bench.load(data_path)
        note = unverified_note(table)
        if note:
            click.echo(note, err=True)
    else:
        if data_path is not None:
            raise UserError("--data names the NB201 table; other spaces read their data from their installed package")
        table = None
    common = dict(loss=loss, source=source, targets=target_list, space=space_name,
                  predictor_kwargs=parse_settings(settings), table=table, protocol=named, **chosen)
    protocols = [resolve_protocol(predictor, seed=s, **common) for s in range(seed_start, seed_start + seeds)]
    click.echo(f"protocol {named or 'custom'}: space {space_name}, pool {chosen['pool']}, train on {chosen['metric']}, "
               f"score on {chosen['score_metric']}, n_train {chosen['n_train']}, n_test {chosen['n_test']}", err=True)
    if space_name != "nb201":
        bm = load_benchmark(space_name)
        click.echo(f"pool: {pool_about(bm.space_of(source), chosen['pool'], len(space_pool(bm.space_of(source), chosen['pool'])))}",
                   err=True)
    elif chosen["pool"] == "full":
        click.echo("note: pool 'full' leaks: test cells can have a functionally identical cell in training "
                   "(about 52% of them at 900/100)"
                   + ("; here the test set includes the training cells" if chosen["n_test"] == "all" else ""), err=True)
    done = existing_keys(read_rows(output))
    todo = [p for p in protocols if overwrite or not set(p.keys()) <= done]
    if len(todo) < len(protocols):
        click.echo(f"skipping {len(protocols) - len(todo)} seed(s) already in {output} (--overwrite recomputes them)", err=True)
    # seeds fitted together where the predictor offers batched fitting (`predictors.batched`)
    dirs = [Path(save_dir) / f"seed-{p.seed}" if save_dir else None for p in todo]
    for i, (protocol, rows) in enumerate(zip(todo, evaluate_seeds(predictor, [p.seed for p in todo],
                                                                  save_dirs=dirs, **common)), start=1):
        write_rows(output, rows)
        scores = "  ".join(f"{r['target']} tau {r['kendall']:.3f}" for r in rows)
        click.echo(f"[{i}/{len(todo)}] seed {protocol.seed}: fit {rows[0]['fit_seconds']:.2f} s  {scores}", err=True)

    wanted = {k for p in protocols for k in p.keys()}
    frame = read_rows(output)
    frame = frame[[row_key(r) in wanted for r in frame.to_dict("records")]]
    show_summary(summarize(frame), output)


def show_summary(summary, output: str) -> None:
    """Mean ± std (standard deviation over seeds) per target, as a fixed-width table on stdout."""
    width = max([11, *(len(str(t)) for t in summary["target"])])
    header = f"{'target':<{width}} {'n':>3} {'spearman':>15} {'kendall':>15} {'r2':>15} {'mae':>15} {'top5%':>15} {'fit s':>13}"
    click.echo(header)
    for _, row in summary.iterrows():
        cells = [f"{row[f'{s}_mean']:.3f} ± {row[f'{s}_std']:.3f}" if row["n"] > 1 else f"{row[f'{s}_mean']:.3f}"
                 for s in ("spearman", "kendall", "r2", "mae", "precision_top5pct")]
        fit = f"{row['fit_seconds_mean']:.2f} ± {row['fit_seconds_std']:.2f}" if row["n"] > 1 else f"{row['fit_seconds_mean']:.2f}"
        click.echo(f"{row['target']:<{width}} {row['n']:>3} " + " ".join(f"{c:>15}" for c in cells) + f" {fit:>13}")
    click.echo("(± is the standard deviation over seeds)")
    click.echo(f"rows in {output}")


_NOT_WITH_LOAD = ("predictor", "loss", "space_name", "source", "protocol_name", "pool", "n_train", "n_test", "metric",
                  "score_metric", "seeds", "seed_start", "overwrite", "save_dir", "settings")


def eval_saved(load_dir: str, targets: str | None, output: str, data_path: str | None) -> None:
    """`eval --load-predictor`: every saved predictor is read (and a planted or foreign file refused)
    before any is scored; rows are merged into `output` as `eval` merges them."""
    from ..predictors.persist import load_predictor
    from ..quality.saved import evaluate_saved, saved_folders, saved_protocol

    ctx = click.get_current_context()
    given = [p.opts[0] for p in ctx.command.params if p.name in _NOT_WITH_LOAD
             and ctx.get_parameter_source(p.name) in (click.core.ParameterSource.COMMANDLINE,
                                                      click.core.ParameterSource.ENVIRONMENT)]
    if given:
        raise UserError(f"--load-predictor scores saved predictors on the protocol they were saved with; "
                        f"drop {', '.join(given)}")
    check_encodable(load_dir, "--load-predictor")
    check_output(output)
    saved = []
    for folder in saved_folders(load_dir):
        protocol = saved_protocol(folder)
        _, _, target_list = resolve_datasets(protocol.get("space") or "nb201", protocol["source"], targets)
        saved.append((folder, target_list, load_predictor(folder)))
    table = bench.load(data_path) if data_path is not None else None
    written = []
    for i, (folder, target_list, model) in enumerate(saved, start=1):
        rows = evaluate_saved(folder, target_list, table=table, model=model)
        write_rows(output, rows)
        written += rows
        scores = "  ".join(f"{r['target']} tau {r['kendall']:.3f}" for r in rows)
        click.echo(f"[{i}/{len(saved)}] {folder}: {rows[0]['predictor']} seed {rows[0]['seed']} (not refitted)  {scores}",
                   err=True)
    import pandas as pd

    show_summary(summarize(pd.DataFrame(written)), output)
