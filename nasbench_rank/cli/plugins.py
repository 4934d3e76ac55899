"""`nasbench-rank plugins`: what is installed and where it came from."""

import click

from ..plugins import get_plugins


@click.command()
def plugins() -> None:
    """List installed predictors, losses, search strategies and spaces, one per line; a space whose
    optional data package is missing says which extra installs it."""
    loaded = get_plugins()
    rows = [(e.name, e.kind, f"{e.source} {e.version}".strip(), e.description + _space_status(e)) for e in loaded.entries()]
    width = max((len(r[0]) for r in rows), default=4)
    for name, kind, source, description in rows:
        click.echo(f"{name:<{width}}  {kind:<9}  {source}  {description}".rstrip())
    for name in loaded.blocked:
        click.echo(f"blocked: {name}", err=True)
    for name, error in loaded.errors.items():
        click.echo(f"failed to load plugin {name}: {error}", err=True)
    for message in loaded.clashes.values():
        click.echo(message, err=True)


def _space_status(entry) -> str:
    """'' for a usable space (or another kind); the install hint when the space's extra is missing."""
    if entry.kind != "space":
        return ""
    from ..spaces import ExtraMissing

    try:
        entry.factory()
    except ExtraMissing as exc:
        return f" [unavailable: {str(exc).split(': ', 1)[-1]}]"
    except Exception as exc:  # a broken third-party space must not stop the listing
        return f" [unavailable: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}]"
    return ""
