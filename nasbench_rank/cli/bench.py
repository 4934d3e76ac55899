"""`nasbench-rank bench SPEC`: run a grid spec, resumably."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from ..grid import harness
from ..errors import UserError
from ..grid.spec import load
from ..grid.store import scan


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="output directory (default: results/<spec name>/)")
@click.option("--workers", type=int, default=None, help="cells run in parallel, >= 1 (default: one per CPU core)")
@click.option("--threads", type=int, default=1, show_default=True, help="torch/BLAS threads per worker")
@click.option("--executor", type=click.Choice(harness.EXECUTORS), default="local", show_default=True,
              help="local process pool, or dask (pip install 'nasbench-rank[dask]')")
@click.option("--address", default=None, help="dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)")
@click.option("--dry-run", is_flag=True, help="check the spec, print the cell count and the first cells, run nothing")
@click.option("--show", type=int, default=10, show_default=True, help="cells listed by --dry-run")
@click.option("--no-progress", is_flag=True, help="no progress bar on stderr")
@click.option("--wait", is_flag=True, help="when another run writes into the output folder, wait for it instead of refusing")
@click.option("--allow-dirty", is_flag=True,
              help="write into a folder of the checkout although tracked files have uncommitted changes "
                   "(a scratch folder such as results/tmp/; every row then says dirty)")
def bench(spec_path: str, out_dir: str | None, workers: int | None, threads: int, executor: str,
          address: str | None, dry_run: bool, show: int, no_progress: bool, wait: bool, allow_dirty: bool) -> int:
    """Run every cell of the grid SPEC (a TOML file); finished cells are skipped on a rerun.

    Exit status: 0 all cells ok; 1 some cells failed (listed, and counted in the last line);
    2 the spec or a setting was refused (every problem listed), another run holds the output
    folder, or the output folder lies in a checkout with uncommitted changes (without --allow-dirty);
    130 interrupted (finished cells are kept).
    """
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers} (leave it out for one per CPU core)")
    if threads < 1:
        raise UserError(f"--threads must be >= 1, got {threads}")
    spec = load(spec_path)
    out = Path(out_dir) if out_dir else Path("results") / spec.name
    note = None if dry_run else harness.check_clean(out, allow_dirty)  # before any work
    from ..tables.nb201 import load as load_table

    table = load_table()  # a missing, empty or garbled table is refused here, before any cell runs
    if dry_run:
        todo = {c.id for c in harness.unfinished(spec.cells, scan(out, table.sha256))}
        kinds = {k: sum(c.kind == k for c in spec.cells) for k in ("eval", "search")}
        finished = sum(c.id not in todo for c in spec.cells)
        click.echo(f"spec {spec.name}: {len(spec)} cells ({kinds['eval']} eval, {kinds['search']} search), "
                   f"{finished} already finished in {out}")
        for cell in spec.cells[:show]:
            click.echo(f"  {cell.id}  {cell.label()}")
        if len(spec) > show:
            click.echo(f"  ... {len(spec) - show} more")
        return 0
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # a terminated run shuts its workers down
    try:
        report = harness.run_grid(spec, out, workers=workers, executor=executor, address=address,
                                  threads=threads, progress=not no_progress, wait=wait, table=table,
                                  notes=[note] if note else [])
    except KeyboardInterrupt:
        kept = sum(c.id in harness.finished_ids(out) for c in spec.cells)
        click.echo(f"interrupted: {kept}/{len(spec)} cells are finished in {out}; rerun the same command to resume",
                   err=True)
        raise SystemExit(130) from None  # said once here; the CLI adds no second message
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"{spec.name}: {report.ran} cells ran, {report.skipped} already finished, {len(report.failed)} failed "
               f"in {report.seconds:.1f} s; results in {out} (nasbench-rank leaderboard {out})")
    for cell_id, label, error in report.failed:
        click.echo(f"failed {cell_id} {label}: {error}", err=True)
    if report.failed:
        click.echo(f"error: {len(report.failed)} cells failed", err=True)
    return harness.exit_code(report)
