"""Every committed result folder is complete: `bench --dry-run` on its spec finds every cell finished,
so a clone resumes or extends it without recomputing. Cheap: reads records, runs nothing."""

from __future__ import annotations

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
