"""One clean revision per result: `bench` writes into a folder of the source checkout only from a
tree without uncommitted changes.

A result folder inside the checkout (`results/NAME/`) is what gets committed, so its rows must name
a commit that reproduces them: from a tree whose tracked files differ from their commit, `bench`
refuses before any work (one line, exit 2). `--allow-dirty` lets it write anyway, for a scratch
folder (`results/tmp/` is ignored by git); every row then says so (`source_revision` ends in
`+dirty`, `dirty` is true). A folder outside the checkout cannot be committed into it: it is written
either way, its rows marked the same. An installed package (no git checkout) has its version as
revision and is never dirty.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..provenance import DIRTY, checkout_root, code_versions


def is_dirty(revision: str) -> bool:
    return str(revision).endswith(DIRTY)


def check_clean(out_dir: str | Path, allow_dirty: bool = False, revision: str | None = None,
                root: str | Path | None = None) -> str | None:
    """Refuse (UserError) to write results into `out_dir` inside the checkout `root` from a tree
    with uncommitted changes unless `allow_dirty`; return the note to print when rows will be
    marked dirty (None for a clean tree). `revision`, `root`: default to the running package's."""
    revision = code_versions()["source_revision"] if revision is None else revision
    if not is_dirty(revision):
        return None
    root = Path(checkout_root() if root is None else root).resolve()
    inside = Path(out_dir).resolve().is_relative_to(root)
    if inside and not allow_dirty:
        raise UserError(f"the source tree {root} has uncommitted changes (revision {revision}): results written "
                        f"into {out_dir} would come from no commit; commit first, or pass --allow-dirty for a "
                        "scratch folder (its rows then say dirty)")
    return f"the source tree has uncommitted changes: rows written into {out_dir} say so (revision {revision}, dirty = true)"
