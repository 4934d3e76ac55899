"""Records are bound to their cells and read defensively: a record filed under another cell's id, a
FIFO, a deeply nested or oversized file, a record of the wrong shape or a planted manifest is an
invalid record (rerun and reported), never a hang or a crash; writes stay inside the results folder."""

import json
import os
import shutil
import signal
import threading
from contextlib import contextmanager

import pytest

from fake_cells import CALLS, fake_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank.errors import UserError
from nasbench_rank.grid import store
from nasbench_rank.report import finished_records, records
from nasbench_rank import report

GRID = """
name = "g"
[[eval]]
predictors = ["xgb"]
seeds = 3
"""


@pytest.fixture
def grid(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(GRID)
    CALLS.clear()
    return spec.load(path)


@pytest.fixture
def done(grid, tmp_path):
    out = tmp_path / "out"
    harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    CALLS.clear()
    return out


class Expired(BaseException):
    """Not an OSError (which readers may catch): a hang cannot pass for an unreadable file."""


@contextmanager
def deadline(seconds):
    """Fail (instead of hanging the suite) when the block takes longer than `seconds`."""
    def expire(signum, frame):
        raise Expired(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    main = threading.main_thread().ident  # aimed at this thread: a blocked open() returns EINTR
    stop = threading.Event()

    def keep_firing():
        if not stop.wait(seconds):
            while not stop.wait(1.0):
                signal.pthread_kill(main, signal.SIGALRM)

    threading.Thread(target=keep_firing, daemon=True).start()
    try:
        yield
    except Expired as exc:
        pytest.fail(str(exc))
    finally:
        stop.set()
        signal.signal(signal.SIGALRM, previous)


def readers_skip(out, cell_id):
    """Every reader of a results folder leaves `cell_id` out and counts it as invalid, quickly."""
    with deadline(20):
        assert cell_id not in harness.finished_ids(out)
        assert all(r["id"] != cell_id for r in harness.load_records(out))
        assert all(r["id"] != cell_id for r in finished_records(out))
        assert str(harness.cell_path(out, cell_id)) in [p for p, _ in harness.record_problems(out)[0]]
        assert cell_id in records.scan(out).unreadable
        report.write(out, plots=False)


def rerun_reports(grid, out, cell_id, capsys, why):
    capsys.readouterr()
    with deadline(20):
        ran = harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    err = capsys.readouterr().err
    assert ran.ran == 1 and [c for c in grid.cells if c.settings == CALLS[0]][0].id == cell_id
    assert "1 cell records fail validation and will be rerun" in err and why in err
    assert store.read_cell(harness.cell_path(out, cell_id)) is not None
    return err


# ---- a record is bound to its cell -------------------------------------------------------------

def test_a_record_copied_under_another_cells_id_is_invalid_and_rerun(grid, done, capsys):
    first, second = grid.cells[0], grid.cells[1]
    record = json.loads(harness.cell_path(done, first.id).read_text())
    record["id"] = second.id  # filed under the other cell, its settings still those of the first
    harness.cell_path(done, second.id).write_text(json.dumps(record))
    readers_skip(done, second.id)
    assert len(finished_records(done)) == len(grid) - 1
    rerun_reports(grid, done, second.id, capsys, "does not match its settings")


def test_a_copied_record_does_not_add_a_run_to_its_configuration(grid, done):
    first, second = grid.cells[0], grid.cells[1]
    harness.cell_path(done, second.id).unlink()
    record = json.loads(harness.cell_path(done, first.id).read_text())
    harness.cell_path(done, second.id).write_text(json.dumps({**record, "id": second.id}))
    board = report.leaderboards(report.frames(finished_records(done)))["eval"]
    assert set(board.loc[board["measure"] == "kendall", "runs"]) == {len(grid) - 1}


# ---- one planted file neither hangs nor crashes a reader ----------------------------------------

def test_a_fifo_as_a_record_neither_hangs_readers_nor_bench(grid, done, capsys):
    victim = grid.cells[1].id
    path = harness.cell_path(done, victim)
    path.unlink()
    os.mkfifo(path)
    readers_skip(done, victim)
    err = rerun_reports(grid, done, victim, capsys, "not a regular file")
    assert "not a regular file" in err and store.read_cell(harness.cell_path(done, victim)) is not None


def test_a_fifo_as_a_run_manifest_or_csv_does_not_hang_bench_or_leaderboard(grid, done):
    os.mkfifo(done / "runs" / "planted.json")
    os.mkfifo(done / "planted.csv")
    (done / store.SPEC_CELLS).unlink()
    os.mkfifo(done / store.SPEC_CELLS)
    with deadline(20):
        report.write(done, plots=False)
        harness.record_problems(done)
        harness.load_records(done, current_only=True)
        assert harness.run_grid(grid, done, workers=1, runner=fake_runner, progress=False).ran == 0


@pytest.mark.parametrize("text", [
    "[" * 200_000 + "]" * 200_000,
    '{"a": ' * 5_000 + "1" + "}" * 5_000,
])
def test_a_deeply_nested_record_is_invalid_not_a_crash(grid, done, capsys, text):
    victim = grid.cells[2].id
    harness.cell_path(done, victim).write_text(text)
    readers_skip(done, victim)
    err = rerun_reports(grid, done, victim, capsys, "nested")
    assert "nested" in err and store.read_cell(harness.cell_path(done, victim)) is not None


def test_a_record_larger_than_the_bound_is_invalid_without_being_read(grid, done, capsys, monkeypatch):
    victim = grid.cells[0].id
    largest = max(p.stat().st_size for p in (done / "cells").glob("*.json"))
    monkeypatch.setattr(store, "MAX_RECORD_BYTES", largest + 100)
    harness.cell_path(done, victim).write_text(json.dumps({"padding": "x" * (largest + 200)}))
    readers_skip(done, victim)
    err = rerun_reports(grid, done, victim, capsys, "larger than")
    assert "larger than" in err and store.read_cell(harness.cell_path(done, victim)) is not None


@pytest.mark.parametrize("change", [
    {"trace": {"constant": {}, "columns": [["a"]], "data": []}},
    {"trace": {"constant": {}, "columns": ["a"], "data": [[1, 2]]}},
    {"rows": [{"kendall": 0.5}, 3]},
    {"settings": ["xgb"]},
    {"status": 1},
    {"files": "predictions.csv"},
    {"provenance": 7},
])
def test_a_record_of_the_wrong_shape_is_invalid_not_a_crash(grid, done, capsys, change):
    victim = grid.cells[1].id
    record = json.loads(harness.cell_path(done, victim).read_text())
    harness.cell_path(done, victim).write_text(json.dumps({**record, **change}))
    readers_skip(done, victim)
    err = rerun_reports(grid, done, victim, capsys, "")
    assert "will be rerun" in err and store.read_cell(harness.cell_path(done, victim)) is not None


@pytest.mark.parametrize("change", [{"spec_text": 5}, {"spec_name": 5}, {"started_at": [1]}, {"status": ["x"]}])
def test_a_planted_manifest_is_ignored_by_leaderboard_and_bench(grid, done, change):
    manifest = next((done / "runs").glob("*.json"))
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **change}))
    written = report.write(done, plots=False)
    assert written[0].name == "leaderboard.md"
    assert harness.run_grid(grid, done, workers=1, runner=fake_runner, progress=False).ran == 0


def test_a_record_whose_manifest_is_a_number_is_ignored(grid, done):
    manifest = next((done / "runs").glob("*.json"))
    manifest.write_text("5")
    report.write(done, plots=False)
    assert harness.run_grid(grid, done, workers=1, runner=fake_runner, progress=False).ran == 0


# ---- writes stay inside the results folder ------------------------------------------------------

SAVING = GRID + "save_predictions = true\n"


@pytest.fixture
def saving(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SAVING)
    return spec.load(path)


def test_a_symlinked_predictions_folder_is_refused_and_nothing_is_written_outside(saving, tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (out / "predictions").mkdir(parents=True)
    (out / "predictions" / saving.cells[0].id).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link") as info:
        harness.run_grid(saving, out, workers=1, runner=fake_runner, progress=False)
    assert "\n" not in str(info.value) and str(out / "predictions") in str(info.value)
    assert list(outside.iterdir()) == [] and CALLS == []


@pytest.mark.parametrize("name", ["cells", "predictions", "runs", "cache"])
def test_a_symlinked_folder_of_the_results_tree_is_refused(saving, tmp_path, name):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / name).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link"):
        harness.run_grid(saving, out, workers=1, runner=fake_runner, progress=False)
    assert list(outside.iterdir()) == [] and CALLS == []


def test_a_record_write_never_follows_a_link_out_of_the_folder(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (out / "predictions").mkdir(parents=True)
    (out / "predictions" / "abc").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserError, match="outside"):
        store.write_record(out, "abc", {"id": "abc"}, {"predictions.csv": "x"})
    assert list(outside.iterdir()) == []


def test_the_leaderboard_refuses_a_symlinked_output_folder(done, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (done / "leaderboard").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link"):
        report.write(done, plots=False)
    assert list(outside.iterdir()) == []


# ---- a directory where a file should be ---------------------------------------------------------

@pytest.mark.parametrize("where", ["record", "lock"])
def test_a_directory_where_a_record_or_the_lock_should_be_is_one_clear_line(grid, done, where):
    path = harness.cell_path(done, grid.cells[0].id) if where == "record" else done / store.LOCK_NAME
    path.unlink(missing_ok=True)
    path.mkdir()
    with pytest.raises(UserError, match="is a directory") as info:
        harness.run_grid(grid, done, workers=1, runner=fake_runner, progress=False)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_records_of_the_committed_results_folders_stay_bound_to_their_cells():
    """Records written before `save_predictions` left the id (every setting hashed) stay valid."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results"
    paths = sorted(root.glob("*/cells/*.json"))
    if not paths:
        pytest.skip("no committed results folders")
    assert [(p.name, store.read_record(p)[1]) for p in paths if store.read_record(p)[1]] == []
