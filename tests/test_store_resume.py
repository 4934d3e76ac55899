"""What a grid resumes from: which stored cell records count as finished, and why the others do not."""

import json

import pytest

from nasbench_rank.grid import store
from nasbench_rank.grid.spec import cell_id as settings_id

SEEDS = {name: i for i, name in enumerate("abcdefx")}


def ids(*names):
    """The cell ids of the records made by `record(name)`: a record's id is computed from its settings."""
    return {settings_id("search", {"seed": SEEDS[n]}) for n in names}


def record(name, status="ok", table="t1", rows=None, **extra):
    return {"id": settings_id("search", {"seed": SEEDS[name]}), "kind": "search", "status": status,
            "settings": {"seed": SEEDS[name]},
            "rows": [{"best_test": 93.0}] if rows is None else rows,
            "trace": store.pack_rows([{"eval": 1}, {"eval": 2}]), "provenance": {"table_sha256": table,
                                                                                 "git_revision": "abc"}, **extra}


def put(out, name, obj):
    """Store `obj` as the record file of `record(name)` (its id is the file name)."""
    (out / "cells").mkdir(parents=True, exist_ok=True)
    (out / "cells" / f"{next(iter(ids(name)))}.json").write_text(obj if isinstance(obj, str) else json.dumps(obj))


def test_resume_counts_only_ok_records_of_the_same_table(tmp_path):
    put(tmp_path, "a", record("a"))
    put(tmp_path, "b", record("b", status="error", rows=[]))
    put(tmp_path, "c", record("c", table="t2"))
    put(tmp_path, "d", "{not json")
    put(tmp_path, "e", record("x"))  # its id is not its file name
    put(tmp_path, "f", record("f", files=["predictions.csv"]))
    found = store.scan(tmp_path, "t1")
    assert found.finished == ids("a", "f")
    assert found.other_table == sorted(ids("c"))
    invalid = dict(found.invalid)
    assert set(invalid) == {f"{i}.json" for i in ids("d", "e")}
    assert "not valid JSON" in invalid[f"{next(iter(ids('d')))}.json"]
    assert "file name" in invalid[f"{next(iter(ids('e')))}.json"]
    assert found.files == {next(iter(ids("a"))): [], next(iter(ids("f"))): ["predictions.csv"]}
    assert store.scan(tmp_path).finished == ids("a", "c", "f")  # any table when none is named
    assert store.finished_ids(tmp_path, "t2") == ids("c")


def test_resume_notes_records_of_other_code_but_still_counts_them(tmp_path):
    put(tmp_path, "a", record("a"))
    put(tmp_path, "b", record("b"))
    found = store.scan(tmp_path, "t1", code={"git_revision": "abc"})
    assert found.finished == ids("a", "b") and found.other_code == []
    found = store.scan(tmp_path, "t1", code={"git_revision": "def"})
    assert found.finished == ids("a", "b") and found.other_code == sorted(ids("a", "b"))


@pytest.mark.parametrize("change,reason", [
    ({"status": "maybe"}, "status"),
    ({"kind": "train"}, "kind"),
    ({"rows": [1]}, "rows"),
    ({"rows": []}, "without rows"),
    ({"trace": {"constant": {}, "columns": ["a"], "data": [[1, 2]]}}, "differs from its columns"),
    ({"settings": []}, "settings"),
    ({"files": "x"}, "files"),
])
def test_a_damaged_record_is_not_finished_and_says_why(tmp_path, change, reason):
    put(tmp_path, "a", {**record("a"), **change})
    found = store.scan(tmp_path, "t1")
    assert found.finished == set() and reason in found.invalid[0][1]
    assert store.read_cell(tmp_path / "cells" / f"{next(iter(ids('a')))}.json") is None


def test_an_empty_or_missing_folder_has_nothing_finished(tmp_path):
    assert store.scan(tmp_path / "none").finished == set()
    assert store.scan(tmp_path).invalid == []
