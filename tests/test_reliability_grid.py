"""The grid's output folder under faults: concurrent runs, dead workers, malformed records, another
table, killed runs, stale cells."""

import json
import threading
import time
from types import SimpleNamespace

import pytest

from fake_cells import CALLS, KILL_ENV, fake_runner, killing_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank.report import finished_records
from nasbench_rank.errors import UserError
from nasbench_rank.grid import store

SMALL = """
name = "small"
[[eval]]
predictors = ["xgb", "mlp"]
seeds = 4
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    CALLS.clear()
    return spec.load(path)


def test_a_second_run_on_a_folder_in_use_refuses_naming_the_holder(small, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with store.FolderLock(out):
        holder = json.loads((out / store.HOLDER_NAME).read_text())
        with pytest.raises(UserError, match=rf"in use by another run \(pid {holder['pid']} on {holder['host']}"):
            harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    assert CALLS == [] and not list((out / "cells").glob("*.json"))
    assert not (out / store.HOLDER_NAME).exists()  # released: the note of who holds it goes too


def test_a_second_run_asked_to_wait_runs_after_the_first(small, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    held = threading.Event()

    def hold():
        with store.FolderLock(out):
            held.set()
            time.sleep(0.5)

    threading.Thread(target=hold).start()
    held.wait()
    start = time.monotonic()
    report = harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False, wait=True)
    assert time.monotonic() - start >= 0.4 and report.ran == len(small)
    assert "waiting for" in capsys.readouterr().err


def test_a_killed_worker_fails_only_its_own_cell(small, tmp_path, monkeypatch):
    monkeypatch.setenv(KILL_ENV, str(tmp_path))
    report = harness.run_grid(small, tmp_path / "out", workers=2, runner=killing_runner, progress=False)
    dead = [c for c in small.cells if c.settings["predictor"] == "mlp" and c.settings["seed"] == 1]
    assert [f[0] for f in report.failed] == [dead[0].id] and "worker died" in report.failed[0][2]
    assert len(harness.finished_ids(tmp_path / "out")) == len(small) - 1


def test_a_worker_killed_once_is_retried_and_the_grid_completes(small, tmp_path, monkeypatch):
    monkeypatch.setenv(KILL_ENV, str(tmp_path))
    (tmp_path / "once").write_text("")
    report = harness.run_grid(small, tmp_path / "out", workers=2, runner=killing_runner, progress=False)
    assert report.failed == [] and report.ran == len(small) and (tmp_path / "died").exists()
    assert len(harness.finished_ids(tmp_path / "out")) == len(small)
    dead = next(c for c in small.cells if c.settings["predictor"] == "mlp" and c.settings["seed"] == 1)
    assert "ran again" in json.loads(harness.cell_path(tmp_path / "out", dead.id).read_text())["retried"]


def test_records_and_rows_carry_provenance_and_cells_of_another_table_are_rerun(small, tmp_path, table, capsys):
    out = tmp_path / "out"
    harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    record = json.loads(harness.cell_path(out, small.cells[0].id).read_text())
    assert record["provenance"]["table_sha256"] == table.sha256 and record["provenance"]["table_verified"]
    for column in ("table_sha256", "package_version", "torch_version", "xgboost_version", "numpy_version"):
        assert record["rows"][0][column] == record["provenance"][column] and record["provenance"][column]
    other = SimpleNamespace(sha256="0" * 64, verified=False, path="other.csv")
    CALLS.clear()
    report = harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False, table=other)
    assert report.skipped == 0 and report.ran == len(small)
    err = capsys.readouterr().err
    assert f"{len(small)} finished cells were computed from another table, or name none" in err
    assert err.count("is not the published one") == 1
    assert json.loads(harness.cell_path(out, small.cells[0].id).read_text())["provenance"]["table_sha256"] == "0" * 64


@pytest.mark.parametrize("text", ["[]", '{"status": "ok"}', '{"id": "x", "kind": "eval"', "\xff\xfe"])
def test_malformed_records_are_rerun_reported_and_skipped_by_readers(small, tmp_path, capsys, text):
    out = tmp_path / "out"
    harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    broken = small.cells[2]
    harness.cell_path(out, broken.id).write_text(text)
    assert broken.id not in harness.finished_ids(out)
    assert all(r["id"] != broken.id for r in harness.load_records(out))
    assert len(finished_records(out)) == len(small) - 1  # the leaderboard reads it without crashing
    invalid, _ = harness.record_problems(out)
    assert [p for p, _ in invalid] == [str(harness.cell_path(out, broken.id))]
    capsys.readouterr()
    CALLS.clear()
    report = harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    assert report.ran == 1 and CALLS == [broken.settings]
    assert "1 cell records fail validation and will be rerun" in capsys.readouterr().err


def test_a_run_killed_without_recording_its_end_is_marked_on_the_next_start(small, tmp_path):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "old.json").write_text(json.dumps({"status": "running", "pid": 1}))
    (out / "runs" / "done.json").write_text(json.dumps({"status": "complete"}))
    report = harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    assert json.loads((out / "runs" / "old.json").read_text())["status"] == "killed"
    assert json.loads((out / "runs" / "done.json").read_text())["status"] == "complete"
    assert json.loads(report.manifest.read_text())["status"] == "complete"
    assert any("1 earlier runs in this folder were killed" in n for n in report.notes)


def test_zero_workers_are_refused(small, tmp_path):
    with pytest.raises(UserError, match="workers must be >= 1"):
        harness.run_grid(small, tmp_path / "out", workers=0, runner=fake_runner, progress=False)


@pytest.mark.parametrize("make", ["file", "under_file", "read_only"])
def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(small, tmp_path, make, monkeypatch):
    import os

    (tmp_path / "f").write_text("")
    out = {"file": tmp_path / "f", "under_file": tmp_path / "f" / "out", "read_only": tmp_path / "ro"}[make]
    if make == "read_only":
        (out / "cells").mkdir(parents=True)
        out.chmod(0o500)
        real = os.access  # root may write anyway: ask as an unprivileged user would be answered
        monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(str(out)) else real(p, mode))
    with pytest.raises(UserError, match="not a directory|not writable"):
        harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    assert CALLS == []


def test_cells_of_an_earlier_spec_are_counted_and_can_be_left_out(small, tmp_path, capsys):
    out = tmp_path / "out"
    harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    edited = tmp_path / "small.toml"
    edited.write_text(SMALL.replace("seeds = 4", "seeds = 3"))
    fewer = spec.load(edited)
    capsys.readouterr()
    report = harness.run_grid(fewer, out, workers=1, runner=fake_runner, progress=False)
    assert report.ran == 0 and "2 cell records in this folder are not in this spec" in capsys.readouterr().err
    assert len(harness.load_records(out)) == len(small)
    current = harness.load_records(out, current_only=True)
    assert sorted(r["id"] for r in current) == sorted(c.id for c in fewer.cells)
    assert harness.record_problems(out) == ([], 2)


def test_a_cell_wanting_predictions_reruns_when_its_record_has_none(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[[eval]]\npredictors = ["xgb"]\n')
    without = spec.load(path)
    path.write_text('[[eval]]\npredictors = ["xgb"]\nsave_predictions = true\n')
    wanting = spec.load(path)
    assert [c.id for c in without.cells] == [c.id for c in wanting.cells]  # same work, same id

    def no_files(kind, settings):
        return {"rows": fake_runner(kind, settings)["rows"]}

    out = tmp_path / "out"
    harness.run_grid(without, out, workers=1, runner=no_files, progress=False)
    assert harness.run_grid(without, out, workers=1, runner=no_files, progress=False).ran == 0
    report = harness.run_grid(wanting, out, workers=1, runner=fake_runner, progress=False)
    assert report.ran == 1 and (out / "predictions" / wanting.cells[0].id / harness.PREDICTIONS_CSV).is_file()


def test_ctrl_c_under_dask_says_one_line_and_exits_130(tmp_path):
    """Ctrl-C reaches the whole process group (the cluster's processes too): one line, exit 130."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("dask.distributed")
    path = tmp_path / "d.toml"
    path.write_text('name = "d"\n[[eval]]\npredictors = ["xgb"]\npredictor_kwargs = {n_estimators = 20}\n'
                    'n_train = 100\nseeds = 200\n')
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "nasbench_rank", "bench", str(path), "--out", str(out),
                             "--executor", "dask", "--workers", "2", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    deadline = time.time() + 120
    while not list((out / "cells").glob("*.json")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("interrupted: "), err[-2000:]


def test_records_get_the_usual_file_mode_so_a_shared_folder_stays_readable(small, tmp_path):
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    out = tmp_path / "out"
    harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    modes = {p.stat().st_mode & 0o777 for p in (out / "cells").glob("*.json")}
    assert modes == {0o666 & ~mask}


def test_bench_refuses_an_empty_table_before_any_cell_runs(small, tmp_path, monkeypatch, capsys):
    from nasbench_rank.cli import main

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    spec_path = tmp_path / "g.toml"
    spec_path.write_text('name = "g"\n[[eval]]\npredictors = ["xgb"]\ntargets = ["cifar10"]\nseeds = 1\n')
    monkeypatch.setenv("NASBENCH_RANK_DATA", str(empty))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main(["bench", str(spec_path), "--out", str(out), "--workers", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is empty" in err
    assert not (out / "cells").exists() or not list((out / "cells").iterdir())
