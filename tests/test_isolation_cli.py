"""The isolation mode at the user's surface: `run --in-process` / `--plugin-timeout`, a spec's
`in_process`, the `isolation` column and the leaderboard's mark; a hostile or broken strategy stops
`run` in one line naming it, exit 1, with no row written."""

from __future__ import annotations

import csv
import time

import pytest

from nasbench_rank.loop import Strategy
from nasbench_rank.plugins import Entry, get_plugins

try:
    from nasbench_rank.cli import main
except ImportError:  # pragma: no cover
    from nasbench_rank.cli import main

try:
    from nasbench_rank.grid.spec import expand
except ImportError:  # before the modules found their final places
    from nasbench_rank.spec import expand


class Sleeper(Strategy):
    def ask(self, view, n):
        time.sleep(3600)


class Crasher(Strategy):
    def ask(self, view, n):
        import os

        os._exit(7)


@pytest.fixture
def broken():
    registry = get_plugins().searches
    registry.add(Entry("sleeper-test-only", "search", Sleeper, "tests", ""))
    registry.add(Entry("crasher-test-only", "search", Crasher, "tests", ""))
    yield
    del registry._entries["sleeper-test-only"], registry._entries["crasher-test-only"]


def _run(tmp_path, capsys, *args) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as info:
        main(["run", "--out-dir", str(tmp_path), "--budget", "3", *args])
    return info.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("name, message", [("sleeper-test-only", "did not answer within 1 s"),
                                           ("crasher-test-only", "exited with code 7")])
def test_run_stops_a_hanging_or_dying_strategy_in_one_line_and_writes_no_row(tmp_path, capsys, broken, name, message):
    code, lines = _run(tmp_path, capsys, "--search", name, "--plugin-timeout", "1")
    assert code == 1
    assert lines[-1].startswith("error:") and f"'{name}'" in lines[-1] and message in lines[-1]
    assert not (tmp_path / "runs.csv").exists() and not (tmp_path / "trace.csv").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "inf"])
def test_run_refuses_a_bad_plugin_timeout_in_one_line_before_work(tmp_path, capsys, value):
    code, lines = _run(tmp_path, capsys, "--search", "random", "--plugin-timeout", value)
    assert code == 2 and lines[-1].startswith("error: --plugin-timeout") and len(lines) == 1
    assert not (tmp_path / "runs.csv").exists()


@pytest.mark.parametrize("flag, isolation", [([], "process"), (["--in-process"], "in-process")])
def test_run_rows_say_how_the_plugins_ran(tmp_path, capsys, flag, isolation):
    code, _ = _run(tmp_path, capsys, "--search", "random", *flag)
    assert code == 0
    with open(tmp_path / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "trace.csv") as f:
        trace = list(csv.DictReader(f))
    assert [r["isolation"] for r in rows] == [isolation] and {r["isolation"] for r in trace} == {isolation}


def _spec(**extra) -> dict:
    block = {"predictors": ["none"], "searches": ["random"], "budget": 5, "seeds": [0], **extra}
    return {"search": [block]}


def test_a_spec_runs_its_searches_isolated_unless_it_says_in_process():
    (isolated,), problems = expand(_spec())
    assert problems == [] and "in_process" not in isolated.settings
    (in_process,), problems = expand(_spec(in_process=True))
    assert problems == [] and in_process.settings["in_process"] is True and in_process.id != isolated.id
    (same,), _ = expand(_spec(in_process=False))
    assert same.id == isolated.id  # the ids of existing isolated cells do not change


@pytest.mark.parametrize("bad", ["yes", 1, [True]])
def test_a_spec_with_a_bad_in_process_value_is_refused(bad):
    cells, problems = expand(_spec(in_process=bad))
    assert cells == [] and any("in_process must be true or false" in p for p in problems)


def test_the_leaderboard_marks_in_process_rows():
    from nasbench_rank.report.tables import method_label

    row = {"predictor": "none", "search": "random", "mode": "none"}
    assert method_label({**row, "isolation": "process"}, "search") == "none+random"
    assert method_label({**row, "isolation": "in-process"}, "search") == "none+random [in-process]"
    assert method_label(row, "search") == "none+random"


def test_the_leaderboard_names_in_process_cells_apart():
    from nasbench_rank.report.records import config_label

    (isolated,), _ = expand(_spec())
    (in_process,), _ = expand(_spec(in_process=True))
    assert config_label("search", in_process.settings) == config_label("search", isolated.settings) + " in-process"
