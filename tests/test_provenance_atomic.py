import os

import pandas as pd
import pytest

from nasbench_rank import atomic, provenance


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic.write_text(target, "first")
    atomic.write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    atomic.write_csv(target, [{"a": 1}], ("a",))

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert pd.read_csv(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_append_csv_adds_rows_keeps_the_files_columns_and_locks_outside_the_folder(tmp_path):
    path = tmp_path / "r.csv"
    atomic.append_csv(path, [{"a": 1, "b": ""}])
    atomic.append_csv(path, [{"b": "x", "a": 2, "c": 3.5}])
    assert list(pd.read_csv(path).columns) == ["a", "b", "c"]
    assert atomic.read_records(path) == [{"a": 1, "b": "", "c": ""}, {"a": 2, "b": "x", "c": "3.5"}]  # as written
    assert atomic.lock_path(path).parent != tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
    assert atomic.read_records(tmp_path / "none.csv") == []


def test_provenance_names_table_checksum_and_versions(table):
    row = provenance.provenance(table)
    assert tuple(row) == provenance.PROVENANCE_COLUMNS
    assert row["table_sha256"] == table.sha256 and len(row["table_sha256"]) == 64
    assert row["table_verified"] is table.verified
    assert row["torch_version"].startswith("2.") and row["numpy_version"]
    assert row["package_version"]
    assert provenance.code_key().startswith(row["package_version"])
