"""Atomic file writes: write a temporary file beside the target, then rename it over the target.

A reader (or a resumed run after a kill) sees either the old file or the new one, never half of one.
Every module that writes a result, a record or a cache entry goes through here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_with(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call `write(tmp_path)` to fill a temporary file beside `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a result file gets the usual mode
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    return write_with(path, write)


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_csv(path: str | os.PathLike, rows: list[dict], columns: tuple[str, ...] | list[str] | None = None) -> Path:
    """Rows (dicts) as a CSV with `columns` in that order (all keys of the first row when None)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns) if columns is not None else None)
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False))


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file that guards `path`: outside its folder (so results/ holds only results), one per file."""
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nasbench-rank-{digest}.lock"


def read_records(path: str | os.PathLike) -> list[dict]:
    """The rows of a CSV as dicts, cells as written (empty strings stay empty); [] when there is none."""
    import pandas as pd

    path = Path(path)
    return pd.read_csv(path, keep_default_na=False).to_dict("records") if path.is_file() else []


def append_csv(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Add `rows` to the CSV at `path` (created when missing): the file is re-read under a lock, so
    several processes may add to one file, and rewritten atomically. Columns: the file's, then any new
    keys in the order they first appear."""
    from filelock import FileLock

    with FileLock(str(lock_path(path))):
        records = read_records(path) + list(rows)
        return write_csv(path, records, list(dict.fromkeys(k for r in records for k in r)))
