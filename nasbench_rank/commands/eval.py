"""`nasbench-rank eval`: predictor quality over seeds, with zero-shot transfer to other datasets."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import bench
from ..errors import UserError
from ..provenance import unverified_note
from ..evaluation import (PROTOCOLS, check_encodable, check_output, evaluate_predictor, existing_keys, protocol_settings, read_rows,
                          resolve_protocol, row_key, summarize, write_rows)


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


def protocol_choice(name: str, pool: str | None, metric: str | None, score_metric: str | None, n_train: int | None,
                    n_test: str | None) -> tuple[dict, str]:
    """The named protocol's settings with the options the user gave on top, and the protocol name the
    rows carry: the name when nothing it fixes was changed, else "" (a custom protocol)."""
    fixed = protocol_settings(name)
    settings = {"pool": pool or fixed["pool"], "metric": metric or fixed["metric"],
                "n_train": n_train if n_train is not None else fixed["n_train"][0],
                "n_test": parse_n_test(n_test if n_test is not None else fixed["n_test"])}
    settings["score_metric"] = score_metric or (fixed["score_metric"] if metric is None else settings["metric"])
    same = (settings["pool"] == fixed["pool"] and settings["metric"] == fixed["metric"]
            and settings["score_metric"] == fixed["score_metric"] and settings["n_train"] in fixed["n_train"]
            and settings["n_test"] == parse_n_test(fixed["n_test"]))
    return settings, name if same else ""


@click.command(name="eval")
@click.option("--predictor", required=True, help="registered predictor name (see `nasbench-rank plugins`)")
@click.option("--loss", default=None, help="loss plugin to train with (torch predictors)")
@click.option("--source", default="cifar10", show_default=True, help="dataset whose labels the predictor is fit on")
@click.option("--target", "targets", default="cifar10,cifar100,imagenet16", show_default=True,
              help="comma-separated datasets to score on; others than the source are zero-shot transfer")
@click.option("--protocol", "protocol_name", default="functional", show_default=True,
              type=click.Choice(list(PROTOCOLS)),
              help="named protocol: functional (leak-free: one cell per functional class, valid, 900 train, rest "
                   "test), unique, article (full pool 900/100 test: leaky), pinat, naslib; the options below "
                   "override it")
@click.option("--pool", default=None, help="functional (4,930 cells), unique (6,466) or full (15,625) [protocol's]")
@click.option("--n-train", default=None, type=int, help="training cells [protocol's first size]")
@click.option("--n-test", default=None,
              help="held-out cells, 'rest' (the whole remaining pool) or 'all' (every pool cell, training "
                   "cells included) [protocol's]")
@click.option("--metric", default=None, help="valid or test accuracy (200 epochs) trained on [protocol's]")
@click.option("--score-metric", default=None, help="metric scored on [protocol's; --metric when that is given]")
@click.option("--seeds", default=10, show_default=True, type=int, help="how many seeds (each draws a new split)")
@click.option("--seed-start", default=0, show_default=True, type=int, help="first seed")
@click.option("--output", default="results/eval.csv", show_default=True,
              help="CSV the rows are merged into; rows of the same protocol already there are skipped")
@click.option("--overwrite", is_flag=True, help="recompute rows already in --output and replace them")
@click.option("--save-predictor", "save_dir", default=None,
              help="save each fitted predictor to DIR/seed-<seed>")
@click.option("--data", "data_path", default=None, type=click.Path(dir_okay=False), help="table CSV")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="predictor setting, repeatable")
def eval_(predictor: str, loss: str | None, source: str, targets: str, protocol_name: str, pool: str | None,
          n_train: int | None, n_test: str | None, metric: str | None, score_metric: str | None, seeds: int,
          seed_start: int, output: str, overwrite: bool, save_dir: str | None, data_path: str | None,
          settings: tuple[str, ...]) -> None:
    """Fit PREDICTOR on seeded training cells of --source; score held-out cells on every --target.

    The default protocol is `functional` (leak-free); `--protocol article` is the old default."""
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    if seed_start < 0:
        raise UserError(f"--seed-start must be >= 0, got {seed_start}")
    check_output(output)
    if save_dir is not None:
        check_encodable(save_dir, "--save-predictor")
    chosen, named = protocol_choice(protocol_name, pool, metric, score_metric, n_train, n_test)
    table = bench.load(data_path)
    note = unverified_note(table)
    if note:
        click.echo(note, err=True)
    common = dict(loss=loss, source=source, targets=[t.strip() for t in targets.split(",") if t.strip()],
                  predictor_kwargs=parse_settings(settings), table=table, protocol=named, **chosen)
    protocols = [resolve_protocol(predictor, seed=s, **common) for s in range(seed_start, seed_start + seeds)]
    click.echo(f"protocol {named or 'custom'}: pool {chosen['pool']}, train on {chosen['metric']}, score on "
               f"{chosen['score_metric']}, n_train {chosen['n_train']}, n_test {chosen['n_test']}", err=True)
    if chosen["pool"] == "full":
        click.echo("note: pool 'full' leaks: test cells can have a functionally identical cell in training "
                   "(about 52% of them at 900/100)"
                   + ("; here the test set includes the training cells" if chosen["n_test"] == "all" else ""), err=True)
    done = existing_keys(read_rows(output))
    todo = [p for p in protocols if overwrite or not set(p.keys()) <= done]
    if len(todo) < len(protocols):
        click.echo(f"skipping {len(protocols) - len(todo)} seed(s) already in {output} (--overwrite recomputes them)", err=True)
    for i, protocol in enumerate(todo, start=1):
        target_dir = Path(save_dir) / f"seed-{protocol.seed}" if save_dir else None
        rows = evaluate_predictor(predictor, seed=protocol.seed, save_dir=target_dir, **common)
        write_rows(output, rows)
        scores = "  ".join(f"{r['target']} tau {r['kendall']:.3f}" for r in rows)
        click.echo(f"[{i}/{len(todo)}] seed {protocol.seed}: fit {rows[0]['fit_seconds']:.2f} s  {scores}", err=True)

    wanted = {k for p in protocols for k in p.keys()}
    frame = read_rows(output)
    frame = frame[[row_key(r) in wanted for r in frame.to_dict("records")]]
    show_summary(summarize(frame), output)


def show_summary(summary, output: str) -> None:
    """Mean ± std (standard deviation over seeds) per target, as a fixed-width table on stdout."""
    header = f"{'target':<11} {'n':>3} {'spearman':>15} {'kendall':>15} {'r2':>15} {'mae':>15} {'top5%':>15} {'fit s':>13}"
    click.echo(header)
    for _, row in summary.iterrows():
        cells = [f"{row[f'{s}_mean']:.3f} ± {row[f'{s}_std']:.3f}" if row["n"] > 1 else f"{row[f'{s}_mean']:.3f}"
                 for s in ("spearman", "kendall", "r2", "mae", "precision_top5pct")]
        fit = f"{row['fit_seconds_mean']:.2f} ± {row['fit_seconds_std']:.2f}" if row["n"] > 1 else f"{row['fit_seconds_mean']:.2f}"
        click.echo(f"{row['target']:<11} {row['n']:>3} " + " ".join(f"{c:>15}" for c in cells) + f" {fit:>13}")
    click.echo("(± is the standard deviation over seeds)")
    click.echo(f"rows in {output}")
