"""`nasbench-rank eval`: predictor quality over seeds, with zero-shot transfer to other datasets."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import bench
from ..errors import UserError
from ..evaluation import evaluate_predictor, existing_keys, read_rows, resolve_protocol, row_key, summarize, write_rows


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


def parse_n_test(value: str) -> int | str:
    if value == "rest":
        return value
    try:
        return int(value)
    except ValueError:
        raise UserError(f"--n-test must be a number or 'rest', got {value!r}") from None


@click.command(name="eval")
@click.option("--predictor", required=True, help="registered predictor name (see `nasbench-rank plugins`)")
@click.option("--loss", default=None, help="loss plugin to train with (torch predictors)")
@click.option("--source", default="cifar10", show_default=True, help="dataset whose labels the predictor is fit on")
@click.option("--target", "targets", default="cifar10,cifar100,imagenet16", show_default=True,
              help="comma-separated datasets to score on; others than the source are zero-shot transfer")
@click.option("--pool", default="full", show_default=True, help="full (15,625 cells) or unique (one per unique_id, 6,466)")
@click.option("--n-train", default=900, show_default=True, type=int, help="training cells")
@click.option("--n-test", default="100", show_default=True, help="held-out cells, or 'rest' for the whole remaining pool")
@click.option("--metric", default="test", show_default=True, help="valid or test accuracy (200 epochs)")
@click.option("--seeds", default=10, show_default=True, type=int, help="how many seeds (each draws a new split)")
@click.option("--seed-start", default=0, show_default=True, type=int, help="first seed")
@click.option("--output", default="results/eval.csv", show_default=True, type=click.Path(dir_okay=False),
              help="CSV the rows are merged into; rows of the same protocol already there are skipped")
@click.option("--overwrite", is_flag=True, help="recompute rows already in --output and replace them")
@click.option("--save-predictor", "save_dir", default=None, type=click.Path(file_okay=False),
              help="save each fitted predictor to DIR/seed-<seed>")
@click.option("--data", "data_path", default=None, type=click.Path(dir_okay=False), help="table CSV")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="predictor setting, repeatable")
def eval_(predictor: str, loss: str | None, source: str, targets: str, pool: str, n_train: int, n_test: str,
          metric: str, seeds: int, seed_start: int, output: str, overwrite: bool, save_dir: str | None,
          data_path: str | None, settings: tuple[str, ...]) -> None:
    """Fit PREDICTOR on seeded training cells of --source; score held-out cells on every --target."""
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    table = bench.load(data_path)
    common = dict(loss=loss, source=source, targets=[t.strip() for t in targets.split(",") if t.strip()], pool=pool,
                  n_train=n_train, n_test=parse_n_test(n_test), metric=metric,
                  predictor_kwargs=parse_settings(settings), table=table)
    protocols = [resolve_protocol(predictor, seed=s, **common) for s in range(seed_start, seed_start + seeds)]
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
    """Mean ± std over seeds per target, as a fixed-width table on stdout."""
    header = f"{'target':<11} {'n':>3} {'spearman':>15} {'kendall':>15} {'r2':>15} {'mae':>15} {'top5%':>15} {'fit s':>13}"
    click.echo(header)
    for _, row in summary.iterrows():
        cells = [f"{row[f'{s}_mean']:.3f} ± {row[f'{s}_std']:.3f}" if row["n"] > 1 else f"{row[f'{s}_mean']:.3f}"
                 for s in ("spearman", "kendall", "r2", "mae", "precision_top5pct")]
        fit = f"{row['fit_seconds_mean']:.2f} ± {row['fit_seconds_std']:.2f}" if row["n"] > 1 else f"{row['fit_seconds_mean']:.2f}"
        click.echo(f"{row['target']:<11} {row['n']:>3} " + " ".join(f"{c:>15}" for c in cells) + f" {fit:>13}")
    click.echo(f"rows in {output}")
