"""`nasbench-rank plugins`: what is installed and where it came from."""

import click

from ..plugins import get_plugins


@click.command()
def plugins() -> None:
    """List installed predictors, losses and search strategies, one per line."""
    loaded = get_plugins()
    rows = [(e.name, e.kind, f"{e.source} {e.version}".strip(), e.description) for e in loaded.entries()]
    width = max((len(r[0]) for r in rows), default=4)
    for name, kind, source, description in rows:
        click.echo(f"{name:<{width}}  {kind:<9}  {source}  {description}".rstrip())
    for name in loaded.blocked:
        click.echo(f"blocked: {name}", err=True)
    for name, error in loaded.errors.items():
        click.echo(f"failed to load plugin {name}: {error}", err=True)
