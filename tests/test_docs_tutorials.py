"""Every tutorial of the documentation runs as written: its plugin modules are installed from the
page's own `pyproject.toml` (the entry points it declares), then every `nasbench-rank` command and
every Python file the page shows is run, on the shipped NAS-Bench-201 table and the toy space the
space tutorial builds. Outputs go to a temporary folder."""

import importlib
import re
import runpy
import shlex
import shutil
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

from nasbench_rank import plugins
from nasbench_rank.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIALS = DOCS / "tutorials"
PLUGIN_PAGES = ("predictor.md", "strategy.md", "space.md")


def _blocks(page: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (TUTORIALS / page).read_text(), flags=re.S)


def _snippets(page: str) -> list[Path]:
    text = (TUTORIALS / page).read_text()
    return [DOCS.parent / p for p in re.findall(r'--8<-- "([^"]+)"', text)]


def _commands(page: str) -> list[str]:
    lines = [line.strip() for block in _blocks(page, "bash") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _install(page: str, site: Path) -> list[str]:
    """Install the page's plugin as pip would: its module, and a dist-info with the entry points its
    pyproject.toml declares. Returns the modules installed."""
    tomls = [tomllib.loads(b) for b in _blocks(page, "toml") if "[project" in b]
    assert len(tomls) == 1, f"{page}: expected one pyproject.toml"
    project = tomls[0]["project"]
    modules = tomls[0]["tool"]["setuptools"]["py-modules"]
    for module in modules:
        source = next(p for p in _snippets(page) if p.name == f"{module}.py")
        shutil.copy(source, site / source.name)
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    points = project["entry-points"]["nasbench_rank"]
    (dist / "entry_points.txt").write_text("[nasbench_rank]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()))
    return modules


@pytest.fixture
def tutorial(tmp_path, monkeypatch, capsys):
    """Install the three tutorial plugins, work in a scratch folder, and run a page's commands."""
    site = tmp_path / "site"
    site.mkdir()
    modules = [m for page in PLUGIN_PAGES for m in _install(page, site)]
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(tmp_path)
    importlib.invalidate_caches()
    plugins.get_plugins.cache_clear()

    def run(page: str) -> dict[str, str]:
        outputs = {}
        for command in _commands(page):
            if command.startswith("pip install"):
                continue  # done above, from the page's own pyproject.toml
            if command.startswith("pytest "):
                continue  # the page's test files: run by `_run_page_tests`
            assert command.startswith("nasbench-rank "), f"{page}: cannot run {command!r}"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DeprecationWarning)
                with pytest.raises(SystemExit) as exit_:
                    main(shlex.split(command)[1:])
            out = capsys.readouterr()
            assert exit_.value.code == 0, f"{page}: {command!r} exited {exit_.value.code}: {out.err[-500:]}"
            _no_deprecated_paths(page, command, caught)
            outputs[command] = out.out
        return outputs

    yield run
    plugins.get_plugins.cache_clear()
    for module in modules:
        sys.modules.pop(module, None)


def _no_deprecated_paths(page: str, what: str, caught) -> None:
    old = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning) and "nasbench_rank" in str(w.message)]
    assert not old, f"{page}: {what} uses a deprecated import path: {old[0]}"


def test_every_tutorial_is_in_the_index_and_shows_only_files_that_exist():
    index = (TUTORIALS / "index.md").read_text()
    for page in PLUGIN_PAGES + ("grid.md",):
        assert f"({page})" in index
        for path in _snippets(page):
            assert path.is_file(), f"{page} includes {path}, which does not exist"


def _run_page_tests(page: str) -> list[str]:
    """Run the test files a page shows (`test_*.py` snippets, each named in a `pytest` command on the
    page) as pytest would: every `test_*` function, once per parameter of its `parametrize` mark.
    Returns what ran."""
    ran = []
    for path in (p for p in _snippets(page) if p.name.startswith("test_")):
        assert any(c.startswith("pytest ") and c.endswith(path.name) for c in _commands(page)), path.name
        for name, fn in runpy.run_path(str(path)).items():
            if not (name.startswith("test_") and callable(fn)):
                continue
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
            assert len(marks) <= 1 and (not marks or "," not in marks[0].args[0]), f"{name}: one parameter at most"
            if not marks:
                fn()
                ran.append(name)
            for value in (marks[0].args[1] if marks else []):
                fn(value)
                ran.append(f"{name}[{value}]")
    return ran


def test_predictor_tutorial_installs_knn_measures_it_saves_it_and_checks_it(tutorial, tmp_path):
    out = tutorial("predictor.md")
    listing = next(v for k, v in out.items() if k == "nasbench-rank plugins")
    assert re.search(r"^knn\s+predictor\s+nasbench-rank-knn 0\.1\.0", listing, flags=re.M)
    import pandas as pd

    rows = pd.read_csv(tmp_path / "results/tmp/knn-eval.csv")
    assert len(rows) == 2 * 3 and set(rows["predictor"]) == {"knn"} and (rows["kendall"] > 0.2).all()
    runs = pd.read_csv(tmp_path / "results/tmp/knn-run/runs.csv")
    assert set(runs["search"]) == {"local", "ucb"} and (runs["evals"] == 30).all()
    transfer = pd.read_csv(tmp_path / "results/tmp/knn-zs.csv")
    assert sorted(transfer["target"]) == ["cifar100", "imagenet16"] and (transfer["kendall"] > 0.2).all()
    assert _run_page_tests("predictor.md") == [f"test_knn_meets_the_predictor_contract[{s}]"
                                               for s in ("nb201", "nbgraph", "fcnet")]


def test_strategy_tutorial_runs_greedy_with_and_without_a_predictor_on_two_spaces(tutorial, tmp_path):
    out = tutorial("strategy.md")
    assert re.search(r"^greedy\s+search\s+nasbench-rank-greedy 0\.1\.0", out["nasbench-rank plugins"], flags=re.M)
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/tmp/greedy/runs.csv")
    assert set(runs["search"]) == {"greedy"} and set(runs["space"]) == {"nb201", "chain"}
    assert set(runs["predictor"]) == {"none", "xgb"} and set(runs["workers"]) == {1, 4}
    nb201 = runs[runs["space"] == "nb201"]
    assert (nb201["evals"] == 40).all() and len(nb201) == 2 + 1 + 1


def test_space_tutorial_builds_a_space_that_runs_through_run_eval_and_the_python_loop(tutorial, tmp_path, capsys):
    out = tutorial("space.md")
    assert re.search(r"^chain\s+space\s+nasbench-rank-chain 0\.1\.0", out["nasbench-rank plugins"], flags=re.M)
    info = out["nasbench-rank data info --space chain"]
    assert "chain (81 elements)" in info and "best valid" in info and "conv3-conv3-conv5-conv3" in info
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/tmp/chain/runs.csv")
    assert set(runs["space"]) == {"chain"} and len(runs) == 3 + 1 + 1 and (runs["evals"] == 30).all()
    assert runs["reached_optimum"].any()
    evals = pd.read_csv(tmp_path / "results/tmp/chain-eval.csv")
    assert set(evals["target"]) == {"easy", "hard"} and (evals["n_test"] == 51).all()
    scripts = [p for p in _snippets("space.md") if p.name.startswith("search_")]
    assert scripts
    for script in scripts:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            runpy.run_path(str(script), run_name="__main__")
        _no_deprecated_paths("space.md", script.name, caught)
        assert "optimum reached" in capsys.readouterr().out


def test_grid_tutorial_runs_the_spec_resumes_it_and_writes_the_leaderboard(tutorial, tmp_path):
    shutil.copy(TUTORIALS / "grid.toml", tmp_path / "grid.toml")
    out = tutorial("grid.md")
    assert "14 cells (8 eval, 6 search)" in out["nasbench-rank bench grid.toml --dry-run"]
    folder = tmp_path / "results/tmp/tutorial"
    assert len(list((folder / "cells").glob("*.json"))) == 14
    board = folder / "leaderboard"
    for name in ("leaderboard.md", "leaderboard_eval.csv", "leaderboard_search.csv", "paired_eval.csv", "cells.csv",
                 "search_trace.png"):
        assert (board / name).is_file(), name
    with pytest.raises(SystemExit) as again:  # a rerun finds every cell finished
        main(["bench", "grid.toml", "--workers", "1", "--out", "results/tmp/tutorial", "--no-progress"])
    assert again.value.code == 0
