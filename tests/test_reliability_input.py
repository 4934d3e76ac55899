"""Input is checked before any work, by one validator for the CLI and the spec: huge seed counts,
values out of range or not finite, a predictor that cannot work on a space, outputs that cannot be
written; each refused in one line with exit status 2, at once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasbench_rank.cli import main
from nasbench_rank.grid import spec
from nasbench_rank.grid.spec import SpecError
from test_reliability_records import deadline

ROOT = Path(__file__).resolve().parents[1]


def refused(capsys, argv, *needles, seconds=30):
    """Run the CLI; it must exit 2 within `seconds`, print one line naming every needle, no rows."""
    with deadline(seconds), pytest.raises(SystemExit) as stop:
        main(argv)
    out, err = capsys.readouterr()
    assert stop.value.code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for needle in needles:
        assert needle in err, err
    assert "seed 0:" not in out + err
    return err


def spec_problems(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with deadline(30), pytest.raises(SpecError) as info:
        spec.load(path)
    return "\n".join(info.value.problems)


# ---- huge seed counts ---------------------------------------------------------------------------

def test_a_spec_with_a_billion_seeds_is_refused_at_once(tmp_path):
    problems = spec_problems(tmp_path, "[[eval]]\npredictors = ['xgb']\nseeds = 1000000000\n")
    assert "1000000000" in problems and "100000" in problems


def test_run_with_a_hundred_billion_seeds_is_refused_at_once(tmp_path, capsys):
    err = refused(capsys, ["run", "--seeds", "100000000000", "--out-dir", str(tmp_path / "o")], "--seeds")
    assert "100000000000" in err and not (tmp_path / "o").exists()


# ---- one validator for the spec and the CLI -----------------------------------------------------

def test_run_refuses_a_negative_count_in_set_as_the_spec_does(tmp_path, capsys):
    err = refused(capsys, ["run", "--predictor", "xgb", "--set", "n_estimators=-5", "--out-dir", str(tmp_path / "o")],
                  "n_estimators must be >= 0, got -5")
    problems = spec_problems(tmp_path, "[[eval]]\npredictors = ['xgb']\npredictor_kwargs = {n_estimators = -5}\n")
    assert "n_estimators must be >= 0, got -5" in problems and "xgb" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_setting_that_is_not_finite_is_refused_by_the_spec_and_the_cli(tmp_path, capsys, value):
    problems = spec_problems(tmp_path, f"[[eval]]\npredictors = ['xgb']\npredictor_kwargs = {{learning_rate = {value}}}\n")
    assert "learning_rate must be a finite number" in problems
    refused(capsys, ["run", "--predictor", "xgb", "--set", f"learning_rate={value}", "--out-dir", str(tmp_path / "o")],
            "learning_rate must be a finite number")


def test_seeds_beyond_two_to_the_32_are_refused_by_the_spec_and_the_cli(tmp_path, capsys):
    problems = spec_problems(tmp_path, "[[eval]]\npredictors = ['xgb']\nseeds = [1, 1180591620717411303424]\n")
    assert "seeds" in problems and str(2 ** 32 - 1) in problems
    refused(capsys, ["run", "--seed-start", str(2 ** 40), "--out-dir", str(tmp_path / "o")], str(2 ** 32 - 1))


def test_a_predictor_that_cannot_work_on_a_space_is_refused_before_work(tmp_path, capsys):
    problems = spec_problems(tmp_path, "[[eval]]\nspace = 'fcnet'\npredictors = ['gin']\n")
    assert "predictor 'gin'" in problems and "fcnet" in problems and "DAG" in problems
    refused(capsys, ["run", "--space", "fcnet", "--predictor", "gin", "--out-dir", str(tmp_path / "o")],
            "predictor 'gin'", "DAG")
    refused(capsys, ["eval", "--predictor", "gin", "--space", "fcnet", "--seeds", "1", "--output", str(tmp_path / "e.csv")],
            "predictor 'gin'", "DAG")


# ---- outputs that cannot be written -------------------------------------------------------------

@pytest.fixture
def blocker(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("")
    return path


def test_run_refuses_an_out_dir_that_cannot_be_created_before_any_work(blocker, capsys):
    err = refused(capsys, ["run", "--budget", "5", "--search", "random", "--out-dir", str(blocker / "out")], str(blocker))
    assert str(blocker) in err and blocker.is_file()


def test_eval_refuses_a_save_predictor_folder_that_cannot_be_created_before_any_work(blocker, tmp_path, capsys):
    refused(capsys, ["eval", "--predictor", "xgb", "--seeds", "1", "--output", str(tmp_path / "e.csv"),
                     "--save-predictor", str(blocker / "models")], str(blocker))
    assert not (tmp_path / "e.csv").exists()


def test_leaderboard_refuses_an_out_folder_that_cannot_be_created_before_any_work(blocker, tmp_path, capsys):
    (tmp_path / "eval.csv").write_text("predictor,target,n_train,seed,kendall\nxgb,cifar10,100,0,0.5\n")
    err = refused(capsys, ["leaderboard", str(tmp_path), "--out", str(blocker / "lb"), "--no-plots"], str(blocker))
    assert str(blocker) in err and blocker.is_file()


# ---- signals ------------------------------------------------------------------------------------

def test_sigterm_during_start_up_exits_130(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[[eval]]\npredictors = ['xgb']\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "nasbench_rank", "bench", str(path), "--out", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    caught = lambda: int(next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()  # noqa: E731
                              if line.startswith("SigCgt:")).split()[1], 16) & (1 << (signal.SIGTERM - 1))
    end = time.time() + 30
    while not caught() and time.time() < end:  # until the process handles SIGTERM (its first statement)
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)  # still starting: the command's modules are importing
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err[-2000:]


# ---- defaults a newcomer expects ----------------------------------------------------------------

def test_an_eval_block_defaults_to_the_leak_free_protocol_of_eval(tmp_path):
    from nasbench_rank.quality.protocol import protocol_settings

    path = tmp_path / "e.toml"
    path.write_text("[[eval]]\npredictors = ['xgb']\n")
    cell = spec.load(path).cells[0]
    leak_free = protocol_settings("functional")
    assert (cell.settings["pool"], cell.settings["n_test"], cell.settings["metric"]) == \
        (leak_free["pool"], leak_free["n_test"], leak_free["metric"])


def test_the_committed_specs_keep_their_cell_ids():
    """The specs whose results are committed name their pool, so a change of default moves no cell."""
    for name in ("article", "medium", "smoke"):
        grid = spec.load(ROOT / "benchmarks" / f"{name}.toml")
        assert all(c.settings["pool"] == "full" for c in grid.cells if c.kind == "eval"), name


class StopsEarly:
    """A strategy that proposes three random cells, then nothing more."""

    def ask(self, view, n):
        return list(view.space.sample(view.rng, 1)) if len(view.observations) < 3 else []

    def tell(self, view, observations):
        return None


class StopperPlugin:
    from nasbench_rank.hookspecs import hookimpl

    @staticmethod
    @hookimpl
    def register_searches(register):
        register("stops-early", StopsEarly, "three cells, then stops")


def test_run_says_when_a_strategy_stops_before_its_budget(tmp_path, capsys, monkeypatch):
    from nasbench_rank import plugins

    real = plugins.build_manager
    monkeypatch.setattr(plugins, "build_manager", lambda extra=(): real(tuple(extra) + (("stopper", StopperPlugin),)))
    plugins.get_plugins.cache_clear()
    try:
        with pytest.raises(SystemExit) as stop:
            main(["run", "--search", "stops-early", "--budget", "20", "--out-dir", str(tmp_path / "o")])
    finally:
        plugins.get_plugins.cache_clear()
    err = capsys.readouterr().err
    assert stop.value.code == 0, err
    assert "search 'stops-early' stopped early, after 3 of 20 evaluations" in err


def test_run_on_fcnet_without_a_dataset_searches_its_first_dataset(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "--space", "fcnet", "--search", "random", "--budget", "5", "--out-dir", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert stop.value.code == 0, err
    assert "on naval_propulsion (fcnet)" in err
