"""The harness: atomic per-cell records, resume, failures recorded and counted, kill-and-resume
equals an uninterrupted run, and the same rows from any executor."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_cells import CALLS, failing_runner, fake_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank import report as leaderboard

SPEC = """
name = "fake"
[defaults]
seeds = 3
[[eval]]
predictors = ["xgb", "mlp"]
targets = ["cifar10", "cifar100"]
n_train = [100, 200]
[[search]]
predictors = ["xgb"]
searches = ["topk"]
budget = 12
[[search]]
searches = ["random"]
budget = 12
"""
class Killed(BaseException):
    """Stands in for SIGKILL inside one process: nothing after it runs."""


def dying_runner(after):
    def run(kind, settings):
        if len(CALLS) >= after:
            raise Killed
        return fake_runner(kind, settings)

    return run


@pytest.fixture
def grid(tmp_path):
    path = tmp_path / "fake.toml"
    path.write_text(SPEC)
    CALLS.clear()
    return spec.load(path)


def boards(out):
    """The leaderboards without wall-clock measures (those differ between any two runs)."""
    tables = leaderboard.leaderboards(leaderboard.frames(leaderboard.finished_records(out)))
    return {k: b[~b["measure"].isin(leaderboard.TIMING_MEASURES)].reset_index(drop=True) for k, b in tables.items()}


def test_every_cell_is_recorded_with_its_identity_and_a_manifest(grid, tmp_path):
    out = tmp_path / "out"
    report = harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    assert (report.ran, report.skipped, report.failed) == (len(grid), 0, [])
    assert sorted(p.stem for p in (out / "cells").glob("*.json")) == sorted(c.id for c in grid.cells)
    assert not list((out / "cells").glob(".*"))  # no temporary files left behind
    cell = next(c for c in grid.cells if c.kind == "search" and c.settings["predictor"] == "xgb")
    record = json.loads(harness.cell_path(out, cell.id).read_text())
    row = record["rows"][0]
    assert row["search"] == "topk" and row["seed"] == cell.settings["seed"] and row["spec"] == "fake"
    assert row["cell_id"] == cell.id and row["version"]
    trace = next(r["trace"] for r in harness.load_records(out) if r["id"] == cell.id)
    assert [t["eval"] for t in trace] == list(range(1, 13)) and all(t["cell_id"] == cell.id for t in trace)
    manifest = json.loads(report.manifest.read_text())
    assert manifest["status"] == "complete" and manifest["spec"] == str(grid.path) and manifest["version"]
    assert manifest["ran"] == len(grid) and manifest["started_at"]
    saved = next(c for c in grid.cells if c.kind == "eval")
    assert (out / "predictions" / saved.id / harness.PREDICTIONS_CSV).is_file()


def test_packed_rows_round_trip():
    rows = [{"a": 1, "b": "x", "c": 0.5}, {"a": 1, "b": "x", "c": 0.7, "d": None}, {"a": 1.0, "b": "x", "c": 0.9}]
    packed = harness.pack_rows(rows)
    assert packed["constant"] == {"b": "x"}  # 1 and 1.0 differ in type: kept per row
    assert harness.unpack_rows(packed) == [{**r, "d": r.get("d")} for r in rows]


def test_resume_skips_finished_cells(grid, tmp_path):
    out = tmp_path / "out"
    harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    CALLS.clear()
    again = harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    assert (again.ran, again.skipped) == (0, len(grid)) and CALLS == []
    harness.cell_path(out, grid.cells[4].id).unlink()
    third = harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    assert third.ran == 1 and CALLS == [grid.cells[4].settings]


def test_a_failing_cell_is_recorded_counted_and_retried_while_the_grid_goes_on(grid, tmp_path):
    out = tmp_path / "out"
    report = harness.run_grid(grid, out, workers=1, runner=failing_runner, progress=False)
    failing = [c for c in grid.cells if c.settings["predictor"] == "mlp" and c.settings["seed"] == 1]
    assert sorted(f[0] for f in report.failed) == sorted(c.id for c in failing) and len(failing) == 2
    assert report.ran == len(grid) and harness.exit_code(report) == 1
    record = json.loads(harness.cell_path(out, failing[0].id).read_text())
    assert record["status"] == "error" and record["rows"] == []
    assert record["error"].startswith("ValueError: mlp diverged (fake_cells.py:") and "\n" not in record["error"]
    assert json.loads(report.manifest.read_text())["failed"] == 2
    CALLS.clear()
    retry = harness.run_grid(grid, out, workers=1, runner=fake_runner, progress=False)
    assert retry.ran == 2 and retry.failed == [] and harness.exit_code(retry) == 0


def test_killed_twice_then_resumed_equals_an_uninterrupted_run(grid, tmp_path):
    whole = tmp_path / "whole"
    harness.run_grid(grid, whole, workers=1, runner=fake_runner, progress=False)
    broken = tmp_path / "broken"
    for after in (5, 7):
        CALLS.clear()
        with pytest.raises(Killed):
            harness.run_grid(grid, broken, workers=1, runner=dying_runner(after), progress=False)
    statuses = [json.loads(p.read_text())["status"] for p in (broken / "runs").glob("*.json")]
    assert statuses == ["interrupted", "interrupted"]
    assert len(harness.finished_ids(broken)) == 5 + 7
    CALLS.clear()
    report = harness.run_grid(grid, broken, workers=1, runner=fake_runner, progress=False)
    assert report.skipped == 12 and report.ran == len(grid) - 12
    a, b = boards(whole), boards(broken)
    for kind in ("eval", "search"):
        assert not a[kind].empty
        assert a[kind].equals(b[kind])


def test_process_pool_gives_the_rows_of_a_serial_run(grid, tmp_path):
    harness.run_grid(grid, tmp_path / "serial", workers=1, runner=fake_runner, progress=False)
    report = harness.run_grid(grid, tmp_path / "pool", workers=2, runner=fake_runner, progress=False)
    assert report.ran == len(grid) and not report.failed
    workers = {json.loads(p.read_text())["worker"] for p in (tmp_path / "pool" / "cells").glob("*.json")}
    assert workers and all(not w.endswith(f":{os.getpid()}") for w in workers)  # ran in worker processes
    a, b = boards(tmp_path / "serial"), boards(tmp_path / "pool")
    assert all(a[k].equals(b[k]) for k in a)


SMALL = """
name = "small"
[[eval]]
predictors = ["xgb", "mlp"]
seeds = 4
"""


def test_sigkill_mid_grid_then_resume_completes_and_leaves_no_workers(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    small = spec.load(path)
    out = tmp_path / "out"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fake_cells\n"
            f"from nasbench_rank import harness, spec\n"
            f"if __name__ == '__main__':\n"
            f"    harness.run_grid(spec.load({str(path)!r}), {str(out)!r}, workers=2, runner=fake_cells.slow_runner, progress=False)\n")
    script = tmp_path / "slow_grid.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.time() + 60
    while len(list((out / "cells").glob("*.json"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = harness.finished_ids(out)
    assert 2 <= len(done) < len(small)
    time.sleep(1.5)  # the workers notice that their parent is gone and exit
    assert [pid for pid in children if running(pid)] == []
    report = harness.run_grid(small, out, workers=1, runner=fake_runner, progress=False)
    assert report.skipped == len(done) and report.complete
    harness.run_grid(small, tmp_path / "whole", workers=1, runner=fake_runner, progress=False)
    a, b = boards(tmp_path / "whole"), boards(out)
    assert a["eval"].equals(b["eval"])


def running(pid: str) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def test_dask_executor_on_a_local_cluster(grid, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        report = harness.run_grid(grid, tmp_path / "dask", executor="dask", address=cluster.scheduler_address,
                                  runner=failing_runner, progress=False)
    assert report.ran == len(grid) and len(report.failed) == 2
    harness.run_grid(grid, tmp_path / "serial", workers=1, runner=failing_runner, progress=False)
    a, b = boards(tmp_path / "serial"), boards(tmp_path / "dask")
    assert all(a[k].equals(b[k]) for k in a)


def test_progress_is_a_tqdm_bar_that_counts_skipped_and_failed_cells(grid, tmp_path):
    import io

    stream = io.StringIO()
    harness.run_grid(grid, tmp_path / "out", workers=1, runner=failing_runner, stream=stream)
    text = stream.getvalue()
    assert f"{len(grid)}/{len(grid)}" in text and "failed=2" in text and "cell" in text
    harness.cell_path(tmp_path / "out", grid.cells[0].id).unlink()
    stream = io.StringIO()
    harness.run_grid(grid, tmp_path / "out", workers=1, runner=fake_runner, stream=stream)
    assert f"{len(grid) - 3}/{len(grid)}" in stream.getvalue()  # starts at the cells already finished


def test_bad_executor_settings_are_user_errors(grid, tmp_path):
    from nasbench_rank.errors import UserError

    with pytest.raises(UserError, match="unknown executor"):
        harness.run_grid(grid, tmp_path, executor="ray", runner=fake_runner)
    with pytest.raises(UserError, match="--address needs --executor dask"):
        harness.run_grid(grid, tmp_path, address="tcp://x:1", runner=fake_runner)
