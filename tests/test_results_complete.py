"""Every committed result folder is complete: `bench --dry-run` on its spec finds every cell finished,
so a clone resumes or extends it without recomputing. Cheap: reads records, runs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nasbench_rank.grid import store

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "benchmarks").glob("*.toml") if (ROOT / "results" / p.stem).is_dir())


def unfinished(spec_path: Path, table) -> list[str]:
    """The cells `bench --dry-run` would count as not finished (the rule `bench` resumes by)."""
    from nasbench_rank.grid.harness import unfinished as todo
    from nasbench_rank.grid.spec import load

    spec = load(spec_path)
    return [c.label() for c in todo(spec.cells, store.scan(ROOT / "results" / spec.name, table.sha256))]


def test_some_result_folders_are_committed():
    assert SPECS


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_committed_result_folder_has_every_cell_of_its_spec(spec_path: Path, table):
    missing = unfinished(spec_path, table)
    assert not missing, (f"results/{spec_path.stem} lacks {len(missing)} cells of {spec_path.name} "
                         f"(first: {missing[0]}); a committed folder must dry-run as complete")


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_committed_rows_come_from_one_clean_revision(spec_path: Path):
    records = [r for r in store.load_records(ROOT / "results" / spec_path.stem) if r["status"] == "ok"]
    revisions = {row.get("source_revision", "") for r in records for row in r["rows"]}
    assert len(revisions) == 1, f"results/{spec_path.stem} rows name revisions {sorted(revisions)}"
    (revision,) = revisions
    assert revision and not revision.endswith("+dirty"), f"results/{spec_path.stem}: revision {revision!r}"


def _committed_tables() -> list[Path]:
    root = Path(__file__).resolve().parent.parent / "results"
    listed = subprocess.run(["git", "-C", str(root.parent), "ls-files", "results"], capture_output=True, text=True)
    if listed.returncode != 0:  # pragma: no cover - not a checkout
        pytest.skip("not a git checkout")
    return [root.parent / p for p in listed.stdout.split() if p.count("/") == 1 and p.endswith(".csv")]


@pytest.mark.parametrize("path", _committed_tables(), ids=lambda p: p.name)
def test_every_committed_table_comes_from_one_clean_revision(path):
    """A table beside the spec folders names the revision that made it, one clean revision per file; a
    `_summary.csv` is derived from the table of the same name, which must then be committed."""
    if path.name.endswith("_summary.csv"):
        assert path.with_name(path.name.replace("_summary.csv", ".csv")).exists()
        return
    import pandas as pd

    rows = pd.read_csv(path, low_memory=False)
    columns = [c for c in rows.columns if c in ("revision", "source_revision")]
    assert columns, f"{path.name} names no revision"
    for column in columns:
        revisions = set(rows[column].astype(str))
        assert len(revisions) == 1 and not any("dirty" in r for r in revisions), (path.name, column, revisions)
