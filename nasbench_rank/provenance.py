"""What produced a result: the table it read and the code that ran.

Every result row and record carries `provenance(table)`; caches and resume keys include
`code_key()` and the table's checksum, so that a fit or a finished cell made from another table or
another version of the code is never reused.
"""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

from . import __version__

PROVENANCE_COLUMNS: tuple[str, ...] = (
    "table_sha256", "table_verified", "package_version", "source_revision",
    "torch_version", "xgboost_version", "numpy_version",
)


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


DIRTY = "+dirty"


def revision_of(root: Path) -> str:
    """The code revision of a package that runs from `root`: the git commit when `root` is a git
    checkout, with '+dirty' appended when tracked files differ from that commit (untracked files,
    such as new results, do not count); the package version when it is not a checkout (an installed
    wheel); '' when git cannot be asked."""
    if not (Path(root) / ".git").exists():
        return __version__
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return rev + (DIRTY if dirty else "")


def checkout_root() -> Path:
    """The folder the package runs from (a git checkout's root when it is one)."""
    return Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """`revision_of` the folder the package runs from."""
    return revision_of(checkout_root())


@functools.lru_cache(maxsize=1)
def code_versions() -> dict[str, str]:
    """Package and library versions, read from installed metadata (no heavy import)."""
    xgb = _dist_version("xgboost") or _dist_version("xgboost-cpu")
    return {
        "package_version": __version__,
        "source_revision": source_revision(),
        "torch_version": _dist_version("torch"),
        "xgboost_version": xgb,
        "numpy_version": _dist_version("numpy"),
    }


def code_key() -> str:
    """One string that changes whenever the code that computes a result may have changed."""
    v = code_versions()
    return "|".join((v["package_version"], v["source_revision"], v["torch_version"], v["xgboost_version"],
                     v["numpy_version"]))


def provenance(table=None) -> dict[str, object]:
    """The provenance columns for a result computed from `table` (an object with `sha256` and
    `verified`; None when no table was read)."""
    out: dict[str, object] = {
        "table_sha256": getattr(table, "sha256", "") if table is not None else "",
        "table_verified": bool(getattr(table, "verified", False)) if table is not None else False,
    }
    out.update(code_versions())
    return {c: out[c] for c in PROVENANCE_COLUMNS}


def unverified_note(table) -> str | None:
    """The one line a command prints on stderr when its table is not the published one (None when it is)."""
    if table is None or getattr(table, "verified", True):
        return None
    return (f"note: table {table.path} is not the published one (sha256 {table.sha256[:12]}...); "
            "every row and record names its checksum")
