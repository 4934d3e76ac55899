"""`nasbench-rank data info | verify | import`."""

from __future__ import annotations

import click

from .. import bench
from ..errors import DataError

DATA_OPTION = click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None,
                           help=f"table CSV (default: ${bench.DATA_ENV}, the user data directory, then the bundled mirror)")


@click.group()
def data() -> None:
    """Inspect, verify or import the NAS-Bench-201 table."""


@data.command()
@DATA_OPTION
def info(data_path: str | None) -> None:
    """Rows, datasets, optima, path and checksum status of the table."""
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
    from ..importer import import_official

    try:
        ref = bench.load(reference)
    except DataError:
        if reference:
            raise
        ref = None
    n = import_official(source, output, reference=ref)
    click.echo(f"wrote {n} rows to {output}")
