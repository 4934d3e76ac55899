"""Errors a user can act on. The CLI prints their message as one line and exits non-zero."""

from contextlib import contextmanager
from typing import Iterator


class UserError(Exception):
    """Bad input: unknown names, malformed strings, invalid settings. Exit code 2."""

    exit_code = 2


class DataError(UserError):
    """The benchmark table is missing, unreadable or fails its checks."""


class PluginError(UserError):
    """A plugin could not be found, loaded or registered."""


class NonFiniteError(UserError):
    """A predictor produced NaN or infinite predictions, scores or losses. Exit code 1: the input was
    valid, the fit failed."""

    exit_code = 1


class PluginFailure(UserError):
    """A plugin raised, or answered outside its contract (e.g. predictions of the wrong shape), while
    the input was valid. Exit code 1: the plugin is at fault, not the command line. The message names
    the plugin."""

    exit_code = 1


@contextmanager
def plugin_call(kind: str, name: str, what: str) -> Iterator[None]:
    """Run a plugin's method (`what`: fit, predict, ...): an exception of its own (anything but a
    UserError, which already speaks to the user) becomes one PluginFailure line naming the plugin."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        raise PluginFailure(f"{kind} {name!r} failed in {what}: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message (at most 300 characters)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
