"""Click commands, one module each; `COMMANDS` is what the CLI mounts."""

from .data import data
from .eval import eval_
from .plugins import plugins

COMMANDS = (data, plugins, eval_)
