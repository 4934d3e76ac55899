"""Specs are refused before any work when they cannot run as written; `bench` refuses bad input in
one line with exit status 2."""

import pytest
from click.testing import CliRunner

from nasbench_rank.grid import spec
from nasbench_rank.cli import cli
from nasbench_rank.grid.spec import SpecError

BAD_VALUES = """
name = "x"
[[eval]]
predictors = ["xgb"]
n_train = 1
n_test = 1
[[eval]]
predictors = ["xgb"]
predictor_kwargs = {n_estimators = -5, paths = "yes"}
[[eval]]
predictors = ["mlp"]
losses = ["rank"]
predictor_kwargs = {loss_kwargs = {margn = 0.1}}
[[eval]]
predictors = ["ensemble"]
predictor_kwargs = {base = "mlp", base_kwargs = {loss_kwargs = {n_pairz = 3}}}
[[search]]
searches = ["topk"]
search_kwargs = {init = 50, pool = "lots"}
budget = 20
"""


def test_values_that_cannot_run_are_refused_at_every_nesting_level(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(BAD_VALUES)
    with pytest.raises(SpecError) as info:
        spec.load(path)
    problems = "\n".join(info.value.problems)
    assert "n_train = 1: must be an integer in 2.." in problems
    assert "n_test = 1: must be an integer in 2.." in problems
    assert "n_estimators must be >= 0, got -5" in problems
    assert "paths must be bool, got 'yes'" in problems
    assert "loss 'rank' takes no 'margn' (in loss_kwargs)" in problems
    assert "loss 'mse' takes no 'n_pairz' (in loss_kwargs) (in base_kwargs)" in problems  # mlp's default loss
    assert "pool must be a positive number of cells or 'all', got 'lots'" in problems
    assert "starts with init = 50 cells, more than budget = 20" in problems
    assert len(info.value.problems) == 8


def test_good_nested_settings_pass(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('[[eval]]\npredictors = ["ensemble"]\n'
                    'predictor_kwargs = {base = "mlp", base_kwargs = {loss = "rank", loss_kwargs = {margin = 0.02}}}\n'
                    '[[search]]\nsearches = ["topk"]\nsearch_kwargs = {init = 10, pool = "all"}\nbudget = 20\n')
    assert len(spec.load(path)) == 2


def test_expansion_compares_no_cells_pairwise(tmp_path, monkeypatch):
    """Many seeds expand in linear time: no cell is compared with every other (was quadratic)."""
    compared = []
    original = spec.Cell.__eq__
    monkeypatch.setattr(spec.Cell, "__eq__", lambda a, b: compared.append(1) or original(a, b))
    path = tmp_path / "many.toml"
    path.write_text('[[eval]]\npredictors = ["xgb"]\nseeds = 2000\n')
    assert len(spec.load(path)) == 2000
    assert len(compared) < 2000


def test_a_spec_past_the_cell_cap_is_refused_without_expanding(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text(f'[[eval]]\npredictors = ["xgb", "mlp"]\nseeds = {spec.MAX_CELLS}\n')
    with pytest.raises(SpecError, match=f"expands to {2 * spec.MAX_CELLS} cells, more than the {spec.MAX_CELLS}"):
        spec.load(path)


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", ".hidden", "a\\\\b", "x/../..", "a..b", ""])
def test_names_that_would_leave_results_are_refused(tmp_path, name):
    path = tmp_path / "n.toml"
    path.write_text(f'name = "{name}"\n[[eval]]\npredictors = ["xgb"]\n')
    with pytest.raises(SpecError, match="name must be letters, digits"):
        spec.load(path)


def test_save_predictions_does_not_change_the_cell_id():
    a = spec.make_cell("eval", {"predictor": "xgb", "seed": 0, "save_predictions": False})
    b = spec.make_cell("eval", {"predictor": "xgb", "seed": 0, "save_predictions": True})
    c = spec.make_cell("eval", {"predictor": "xgb", "seed": 1, "save_predictions": True})
    assert a.id == b.id != c.id


def run_bench(*args):
    result = CliRunner().invoke(cli, ["bench", *args], standalone_mode=False, catch_exceptions=True)
    return result


def bench_cli(capfd, *args):
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as info:
        main(["bench", *args])
    err = capfd.readouterr().err
    return info.value.code, err


def test_a_spec_that_is_not_utf8_exits_2_in_one_line(tmp_path, capfd):
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "caf\xe9"\n[[eval]]\npredictors = ["xgb"]\n'.encode("latin-1"))
    code, err = bench_cli(capfd, str(path), "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "not UTF-8" in err


@pytest.mark.parametrize("args", [["--workers", "0"], ["--workers", "-1"], ["--threads", "0"]])
def test_zero_workers_or_threads_exit_2(tmp_path, capfd, args):
    path = tmp_path / "s.toml"
    path.write_text('[[eval]]\npredictors = ["xgb"]\n')
    code, err = bench_cli(capfd, str(path), "--out", str(tmp_path / "o"), *args)
    assert code == 2 and err.count("\n") == 1 and ">= 1" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_an_output_path_that_is_not_a_directory_exits_2_in_one_line(tmp_path, capfd, where):
    path = tmp_path / "s.toml"
    path.write_text('[[eval]]\npredictors = ["xgb"]\n')
    (tmp_path / "f").write_text("")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    code, err = bench_cli(capfd, str(path), "--out", str(out))
    assert code == 2 and err.count("\n") == 1 and "not a directory" in err
