"""Errors a user can act on. The CLI prints their message as one line and exits non-zero."""


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
