"""Edges of the grid's record store: a record whose settings cannot be hashed is refused with a
reason (never an exception), a damaged record does not hide the records after it, and a run whose
holder note went missing still frees its folder; the size and depth limits of a record file are
inclusive; a file that cannot be read says why in the system's words."""

from test_store_resume import ids, put, record

from nasbench_rank.grid import store


def test_a_record_whose_settings_cannot_be_hashed_is_refused_with_a_reason():
    bad = {**record("a"), "settings": {"seed": {1, 2}}}  # a set: no JSON, no cell id
    assert store.validate(bad) == "its settings cannot be hashed to a cell id"


def test_a_run_whose_holder_note_was_removed_still_frees_its_folder(tmp_path):
    with store.FolderLock(tmp_path):
        (tmp_path / store.HOLDER_NAME).unlink()
    with store.FolderLock(tmp_path):  # free again
        assert (tmp_path / store.HOLDER_NAME).exists()
    assert not (tmp_path / store.HOLDER_NAME).exists()


def test_a_damaged_record_is_skipped_and_the_records_after_it_are_still_read(tmp_path):
    for name in ("a", "b", "c"):
        put(tmp_path, name, record(name))
    (tmp_path / "cells" / "0000000000000000.json").write_text("{not json")  # sorts before every id
    assert {r["id"] for r in store.load_records(tmp_path)} == ids("a", "b", "c")


def test_a_folder_in_use_whose_holder_note_cannot_be_read_names_another_process(tmp_path):
    lock = store.FolderLock(tmp_path)
    assert lock.holder() == "another process"  # no note
    (tmp_path / store.HOLDER_NAME).write_text("{not json")
    assert lock.holder() == "another process"


def test_a_stored_spec_that_no_longer_expands_says_its_first_problem():
    data = {"name": "x", "eval": [{"predictors": ["nosuch"], "n_train": -1, "seeds": 1}]}
    asked, why = store.asked_from_spec(data, "spec.toml")
    assert asked == {} and why.startswith("[[eval]] #1: unknown predictor 'nosuch'")
    asked, why = store.asked_from_spec({**data, "eval": [{"predictors": ["nosuch"], "seeds": 1}]}, "spec.toml")
    assert asked == {} and why.startswith("[[eval]] #1: unknown predictor 'nosuch'")


def test_a_record_of_exactly_the_size_limit_is_read_and_one_byte_more_is_refused(tmp_path):
    import pytest

    path = tmp_path / "r.json"
    path.write_text('{"a": 1}')
    assert store.read_json(path, max_bytes=8) == {"a": 1}
    with pytest.raises(store.Unreadable, match="is larger than 7 bytes"):
        store.read_json(path, max_bytes=7)


def test_a_record_nested_exactly_as_deep_as_allowed_is_read_and_one_level_more_is_refused(tmp_path):
    import pytest

    path = tmp_path / "r.json"
    path.write_text("[" * store.MAX_DEPTH + "]" * store.MAX_DEPTH)
    assert store.read_json(path) is not None
    path.write_text("[" * (store.MAX_DEPTH + 1) + "]" * (store.MAX_DEPTH + 1))
    with pytest.raises(store.Unreadable, match=f"is nested deeper than {store.MAX_DEPTH} levels"):
        store.read_json(path)


def test_a_record_that_cannot_be_read_says_why_in_the_systems_words(tmp_path):
    import pytest

    with pytest.raises(store.Unreadable, match=r"^cannot be read \(No such file or directory\)$"):
        store.read_json(tmp_path / "missing.json")


def test_a_record_the_user_may_not_open_says_why_in_the_systems_words(tmp_path, monkeypatch):
    import errno
    import os

    import pytest

    path = tmp_path / "r.json"
    path.write_text("{}")

    def refused(*args, **kwargs):  # what a user without read permission gets (the tests run as root)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(store.os, "open", refused)
    with pytest.raises(store.Unreadable, match=r"^cannot be read \(Permission denied\)$"):
        store.read_json(path)
