"""Checks every command makes before any work: output folders that can be created and written."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def check_folder(path: str | os.PathLike, what: str) -> Path:
    """Refuse, in one line, a folder the command will write into that cannot be created or written:
    one under a file, a file itself, or under a folder this user cannot write. Nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is not a directory")
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{what} {path} cannot be created: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path} cannot be created or written: {parent} is not writable")
    return path
