"""What a grid resumes from: which stored cell records count as finished, and why the others do not."""

import json

import pytest

from nasbench_rank.grid import store


def record(cell_id, status="ok", table="t1", rows=None, **extra):
    return {"id": cell_id, "kind": "search", "status": status, "settings": {"seed": 0},
            "rows": [{"best_test": 93.0}] if rows is None else rows,
            "trace": store.pack_rows([{"eval": 1}, {"eval": 2}]), "provenance": {"table_sha256": table,
                                                                                 "git_revision": "abc"}, **extra}


def put(out, name, obj):
    (out / "cells").mkdir(parents=True, exist_ok=True)
    (out / "cells" / f"{name}.json").write_text(obj if isinstance(obj, str) else json.dumps(obj))


def test_resume_counts_only_ok_records_of_the_same_table(tmp_path):
    put(tmp_path, "a", record("a"))
    put(tmp_path, "b", record("b", status="error", rows=[]))
    put(tmp_path, "c", record("c", table="t2"))
    put(tmp_path, "d", "{not json")
    put(tmp_path, "e", record("x"))  # its id is not its file name
    put(tmp_path, "f", record("f", files=["predictions.csv"]))
    found = store.scan(tmp_path, "t1")
    assert found.finished == {"a", "f"}
    assert found.other_table == ["c"]
    assert [name for name, _ in found.invalid] == ["d.json", "e.json"]
    assert "unreadable" in found.invalid[0][1] and "file name" in found.invalid[1][1]
    assert found.files == {"a": [], "f": ["predictions.csv"]}
    assert store.scan(tmp_path).finished == {"a", "c", "f"}  # any table when none is named
    assert store.finished_ids(tmp_path, "t2") == {"c"}


def test_resume_notes_records_of_other_code_but_still_counts_them(tmp_path):
    put(tmp_path, "a", record("a"))
    put(tmp_path, "b", record("b"))
    found = store.scan(tmp_path, "t1", code={"git_revision": "abc"})
    assert found.finished == {"a", "b"} and found.other_code == []
    found = store.scan(tmp_path, "t1", code={"git_revision": "def"})
    assert found.finished == {"a", "b"} and found.other_code == ["a", "b"]


@pytest.mark.parametrize("change,reason", [
    ({"status": "maybe"}, "unknown"),
    ({"kind": "train"}, "unknown"),
    ({"rows": [1]}, "row is not"),
    ({"rows": []}, "without rows"),
    ({"trace": {"constant": {}, "columns": ["a"], "data": [[1, 2]]}}, "packed table"),
    ({"settings": []}, "'settings'"),
    ({"files": "x"}, "'files'"),
])
def test_a_damaged_record_is_not_finished_and_says_why(tmp_path, change, reason):
    put(tmp_path, "a", {**record("a"), **change})
    found = store.scan(tmp_path, "t1")
    assert found.finished == set() and reason in found.invalid[0][1]
    assert store.read_cell(tmp_path / "cells" / "a.json") is None


def test_an_empty_or_missing_folder_has_nothing_finished(tmp_path):
    assert store.scan(tmp_path / "none").finished == set()
    assert store.scan(tmp_path).invalid == []
