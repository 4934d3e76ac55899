"""The `nasbench-rank` command. Thin: every command calls into the library.

Errors a user can fix print as one line on stderr with exit code 2; an unexpected error prints one
line with exit code 1 (set NASBENCH_RANK_TRACEBACK=1 to see the traceback).
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from .commands import COMMANDS
from ..errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="nasbench-rank")
def cli() -> None:
    """Benchmark architecture-performance predictors and search strategies on tabulated NAS benchmarks."""


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="nasbench-rank", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted; finished results are kept, rerun to resume", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("NASBENCH_RANK_TRACEBACK"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        click.echo(f"error: unexpected {type(exc).__name__}: {first} (set NASBENCH_RANK_TRACEBACK=1 for details)", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
