"""`python -m nasbench_rank ...` runs the `nasbench-rank` command."""

import signal
import sys


def _terminated_while_starting(signum, frame) -> None:
    print("error: terminated while starting; nothing ran", file=sys.stderr)
    sys.exit(130)


signal.signal(signal.SIGTERM, _terminated_while_starting)  # before the command's modules import

from .cli import main  # noqa: E402

main()
