"""`nasbench-rank leaderboard DIR`: leaderboard CSVs, Markdown and plots of a results folder."""

from __future__ import annotations

import click


@click.command()
@click.argument("results_dir", metavar="DIR", type=click.Path(exists=True))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="where to write (default: DIR/leaderboard/)")
@click.option("--baseline", default=None, metavar="NAME",
              help="compare every method with NAME (a predictor, a search strategy or a method as printed) "
                   "over the seeds both ran: Wilcoxon signed-rank p-value and win rate")
@click.option("--exclude-stale", is_flag=True,
              help="leave out finished cells that the folder's newest spec no longer asks for")
@click.option("--no-plots", is_flag=True, help="CSVs and Markdown only")
@click.option("--pages", "pages_dir", type=click.Path(file_okay=False), default=None, metavar="DOCS_DIR",
              help="also write the documentation page of DIR into DOCS_DIR/<spec name>.md (with its figures), "
                   "from the leaderboard just written (e.g. docs/results)")
@click.option("--headline", "headline_file", type=click.Path(dir_okay=False, exists=True), default=None,
              metavar="FILE.md", help="with --pages: replace the generated headline block of FILE.md (README.md) "
                                      "with DIR's headline tables")
def leaderboard(results_dir: str, out_dir: str | None, baseline: str | None, exclude_stale: bool, no_plots: bool,
                pages_dir: str | None, headline_file: str | None) -> None:
    """Aggregate every cell under DIR (one `bench` output folder, a folder of them, or the CSVs that
    `run` and `eval` write; DIR may also be one such CSV) into leaderboards: per configuration the
    median and IQM with 95% bootstrap intervals, rates with Wilson intervals, Kaplan-Meier medians of
    evaluations to a goal, and cells asked/finished/failed/missing/unreadable. Prints the Markdown.

    With --pages, the page of DIR (a `bench` output folder, its leaderboard in DIR/leaderboard/) is
    generated for the documentation; a test checks committed pages against the generator."""
    from pathlib import Path

    from .. import report
    from ..errors import UserError

    if headline_file and not pages_dir:
        raise UserError("--headline needs --pages (the headline links to the page)")
    if pages_dir and out_dir and Path(out_dir).resolve() != (Path(results_dir) / "leaderboard").resolve():
        raise UserError("--pages reads the leaderboard from DIR/leaderboard/: leave out --out")
    written = report.write(results_dir, out_dir, plots=not no_plots, baseline=baseline, exclude_stale=exclude_stale)
    if pages_dir:
        from ..report import pages

        written += pages.write_pages(results_dir, pages_dir, headline_file)
    click.echo(written[0].read_text())
    for path in written:
        click.echo(f"wrote {path}", err=True)
