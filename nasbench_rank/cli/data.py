"""`nasbench-rank data info | verify | import`."""

from __future__ import annotations

import click

from ..tables import nb201 as bench
from ..errors import DataError, UserError

DATA_OPTION = click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None,
                           help=f"NB201 table, CSV or .csv.gz (default: ${bench.DATA_ENV}, the user data directory, then the table shipped in the package)")


@click.group()
def data() -> None:
    """Inspect, verify or import the benchmark data (NAS-Bench-201 table; other spaces' data)."""


@data.command()
@DATA_OPTION
@click.option("--space", "space_name", default=None, help="a registered space (see `nasbench-rank plugins`); default nb201")
@click.option("--dataset", default=None, help="one dataset of the space (alone: the space that has it)")
def info(data_path: str | None, space_name: str | None, dataset: str | None) -> None:
    """Rows, datasets, optima, path and checksum status of the table; with --space or --dataset,
    the space's size, metrics with their direction, and per dataset the optimum and what the data holds."""
    if space_name is not None or dataset is not None:
        _space_info(space_name, dataset, data_path)
        return
    table = bench.load(data_path)
    status = "verified (matches the published table)" if table.verified else "unverified (passes the checks, differs from the published table)"
    click.echo(f"path:      {table.path}")
    click.echo(f"sha256:    {table.sha256} {status}")
    click.echo(f"rows:      {len(table)} ({table.df['unique_id'].nunique()} unique)")
    click.echo(f"datasets:  {', '.join(bench.DATASETS)}")
    click.echo("optima (200 epochs, %):")
    for dataset in bench.DATASETS:
        parts = []
        for metric in ("test", "valid"):
            index, value = table.optimum(dataset, metric)
            parts.append(f"{metric} {value:.2f} (index {index})")
        click.echo(f"  {dataset:<11} " + "   ".join(parts))


@data.command()
@DATA_OPTION
def verify(data_path: str | None) -> None:
    """Check the table; exit non-zero when it is bad."""
    table = bench.load(data_path)
    if table.verified:
        click.echo(f"ok: {table.path} passes the checks and matches the published sha256")
    else:
        click.echo(f"ok: {table.path} passes the checks (unverified: sha256 {table.sha256} differs from the published table)")


@data.command(name="import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="CSV to write")
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="table to take unique_id from (default: the table found as for --data)")
def import_(source: str, output: str, reference: str | None) -> None:
    """Convert the official NAS-Bench-201 file SOURCE (.pth) into this table format."""
    from ..tables.nb201_import import import_official

    try:
        ref = bench.load(reference)
    except DataError:
        if reference:
            raise
        ref = None
    n = import_official(source, output, reference=ref)
    click.echo(f"wrote {n} rows to {output}")


def _space_info(space_name: str | None, dataset: str | None, data_path: str | None) -> None:
    from .. import spaces

    if space_name is None:
        space_name = spaces.find_dataset(dataset)
    if data_path is not None and space_name != "nb201":
        raise UserError("--data names the NB201 table; other spaces read their data from their installed package")
    bm = spaces.load(space_name, **({"data": data_path} if data_path else {}))
    datasets = bm.datasets if dataset is None else (bm.canonical_dataset(dataset),)
    sp = bm.space
    click.echo(f"space:     {space_name} ({sp.size} elements{', DAG' if sp.has_dag else ''}"
               f"{', equivalence classes' if sp.has_equivalence else ''})")
    if space_name == "nb201":
        table = bm.table
        status = "verified" if table.verified else "unverified"
        click.echo(f"data:      {table.path} (sha256 {table.sha256}, {status})")
    else:
        click.echo(f"data:      {bm.source}")
    click.echo("metrics:   " + ", ".join(f"{m.name} ({'higher' if m.direction == 'max' else 'lower'} is better)"
                                         for m in bm.metrics.values()))
    click.echo("cost:      " + ("training seconds per evaluation" if bm.cost_unit == "seconds"
                                 else "one unit per evaluation (the data holds no training time)"))
    for name in datasets:
        sub = bm.space_of(name)
        best = bm.optimum(name)
        seeds = bm.per_seed(name)
        fids = ", ".join(f.name for f in bm.fidelities(name))
        click.echo(f"{name}: {sub.size} elements; fidelities {fids}; "
                   f"per-seed {bm.default_metric}: {f'up to {seeds.shape[1]} seeds' if seeds is not None else 'none'}")
        click.echo(f"  best {bm.default_metric} {best.value:.6g} ({len(best.ties)} tied) at {sub.format(sub.element(best.ordinal))}")
        if sub.has_equivalence:
            click.echo(f"  equivalence classes: {len(sub.classes()[1]) - 1} (the leak-free pool of `eval`)")
        if space_name != "nb201":
            check = bm.checksum(name)
            click.echo(f"  sha256 {check.sha256} ({'verified' if check.verified else 'unverified'})")
