"""Click commands, one module each; `COMMANDS` is what the CLI mounts."""

from .bench import bench
from .data import data
from .eval import eval_
from .leaderboard import leaderboard
from .plugins import plugins
from .run import run

COMMANDS = (data, plugins, bench, leaderboard, eval_, run)
