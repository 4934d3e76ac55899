"""Every distribution that provides a plugin used in a cell is in the cell's provenance, in the key of
its cached fits, and (as a note) in its resume: a plugin fixed in a new version is never served from
the old version's fits without a word."""

import dataclasses
import json

import pytest

from fake_cells import fake_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors import fit_cache
from nasbench_rank.provenance import plugin_distributions

KEY = ("xgb", json.dumps({"n_estimators": 5}, sort_keys=True), "cifar10", "valid", 60, 0)


@pytest.fixture
def bumped(monkeypatch):
    """The `xgb` predictor as if its distribution were upgraded (same name, version 9.9.9)."""
    registry = get_plugins().predictors
    entry = registry.get("xgb")
    monkeypatch.setitem(registry._entries, "xgb", dataclasses.replace(entry, version="9.9.9"))
    return entry


def test_a_cells_provenance_names_the_distribution_of_every_plugin_it_used(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("name = 'g'\n[[search]]\npredictors = ['xgb']\nsearches = ['topk']\nbudget = 20\n"
                    "search_kwargs = {init = 5}\n")
    grid = spec.load(path)
    harness.run_grid(grid, tmp_path / "out", workers=1, runner=fake_runner, progress=False)
    record = json.loads(harness.cell_path(tmp_path / "out", grid.cells[0].id).read_text())
    plugins = record["provenance"]["plugins"]
    assert plugins["predictor xgb"].startswith("nasbench-rank") and plugins["search topk"].startswith("nasbench-rank")
    assert record["rows"][0]["plugins"] == json.dumps(plugins, sort_keys=True)


def test_a_new_plugin_version_gets_its_own_cache_entry(bumped):
    before = fit_cache.entry_path("/c", KEY, "t" * 64)
    assert plugin_distributions([("predictor", "xgb")]) == {"predictor xgb": f"{bumped.source} 9.9.9"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(get_plugins().predictors._entries, "xgb", bumped)
        assert fit_cache.entry_path("/c", KEY, "t" * 64) != before


def test_resuming_cells_made_by_another_plugin_version_says_so(tmp_path, capsys, monkeypatch):
    path = tmp_path / "g.toml"
    path.write_text("name = 'g'\n[[eval]]\npredictors = ['xgb']\nseeds = 2\n")
    grid = spec.load(path)
    harness.run_grid(grid, tmp_path / "out", workers=1, runner=fake_runner, progress=False)
    registry = get_plugins().predictors
    monkeypatch.setitem(registry._entries, "xgb", dataclasses.replace(registry.get("xgb"), version="9.9.9"))
    capsys.readouterr()
    report = harness.run_grid(grid, tmp_path / "out", workers=1, runner=fake_runner, progress=False)
    assert report.ran == 0
    assert "2 finished cells were made by other plugin versions (predictor xgb: nasbench-rank " in capsys.readouterr().err
