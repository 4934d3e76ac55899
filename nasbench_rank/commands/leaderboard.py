"""`nasbench-rank leaderboard DIR`: aggregate finished cells into leaderboard CSVs, Markdown, plots."""

from __future__ import annotations

import click


@click.command()
@click.argument("results_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="where to write (default: DIR/leaderboard/)")
@click.option("--no-plots", is_flag=True, help="CSVs and Markdown only")
def leaderboard(results_dir: str, out_dir: str | None, no_plots: bool) -> None:
    """Aggregate every finished cell under DIR (one run's output, or a folder of runs): mean, std,
    95% CI and n over seeds per configuration; prints the Markdown leaderboard."""
    from .. import leaderboard as board  # pandas, scipy and matplotlib load only for this command

    written = board.write(results_dir, out_dir, plots=not no_plots)
    md = next(p for p in written if p.suffix == ".md")
    click.echo(md.read_text())
    for path in written:
        click.echo(f"wrote {path}", err=True)
