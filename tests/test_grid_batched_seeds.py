"""`bench` fits the seeds of one predictor configuration together where the predictor offers batched
fitting (`fit_many`), as `eval` does: one job per configuration, one record per seed, rows equal to
separate fits within the predictor's tolerance, resumable seed by seed."""

from __future__ import annotations

import json

import pytest

from nasbench_rank.grid import harness, spec
from nasbench_rank.predictors.act import ACTPredictor
from nasbench_rank.quality.protocol import evaluate_predictor

TINY = dict(hidden=16, heads=2, expansion=2.0, epochs=2, batch_size=16, tta=1)

SPEC = """
name = "batched"
[[eval]]
predictors = ["act-mixed"]
predictor_kwargs = {tiny}
pool = "functional"
n_train = 24
n_test = 60
seeds = 3
[[eval]]
predictors = ["xgb"]
n_train = 24
n_test = 60
seeds = 2
""".replace("{tiny}", "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in TINY.items()) + " }")


@pytest.fixture
def grid(tmp_path):
    path = tmp_path / "batched.toml"
    path.write_text(SPEC)
    return spec.load(path)


@pytest.fixture
def fits(monkeypatch):
    """How many estimators each call of ACTPredictor.fit_many trained."""
    sizes: list[int] = []
    original = ACTPredictor.fit_many.__func__

    def spy(cls, estimators, cells_list, y_list):
        sizes.append(len(estimators))
        return original(cls, estimators, cells_list, y_list)

    monkeypatch.setattr(ACTPredictor, "fit_many", classmethod(spy))
    return sizes


def _rows(out, predictor):
    return {r["seed"]: r for rec in harness.load_records(out) if rec["status"] == "ok"
            for r in rec["rows"] if r["predictor"] == predictor}


def test_bench_fits_the_seeds_of_one_configuration_together_and_records_each_seed(grid, tmp_path, fits):
    out = tmp_path / "out"
    report = harness.run_grid(grid, out, workers=1, progress=False)
    assert (report.ran, report.failed) == (5, [])
    assert fits == [3]  # the three act seeds in one call; xgb has no fit_many
    act = _rows(out, "act-mixed")
    assert sorted(act) == [0, 1, 2] and len(_rows(out, "xgb")) == 2
    for cell in (c for c in grid.cells if c.settings["predictor"] == "act-mixed"):
        s = cell.settings
        row = act[s["seed"]]
        alone = evaluate_predictor("act-mixed", seed=s["seed"], pool=s["pool"], n_train=s["n_train"], n_test=s["n_test"],
                                   metric=s["metric"], source=s["source"], targets=tuple(s["targets"]),
                                   predictor_kwargs=TINY)[0]
        assert row["kendall"] == pytest.approx(alone["kendall"], abs=2e-3)
        assert row["n_train"] == 24 and row["fit_seconds"] > 0


def test_a_resumed_grid_fits_only_the_unfinished_seeds_together(grid, tmp_path, fits):
    out = tmp_path / "out"
    harness.run_grid(grid, out, workers=1, progress=False)
    gone = next(c for c in grid.cells if c.settings["predictor"] == "act-mixed" and c.settings["seed"] == 1)
    harness.cell_path(out, gone.id).unlink()
    other = next(c for c in grid.cells if c.settings["predictor"] == "act-mixed" and c.settings["seed"] == 2)
    harness.cell_path(out, other.id).unlink()
    fits.clear()
    report = harness.run_grid(grid, out, workers=1, progress=False)
    assert report.ran == 2 and fits == [2]
    assert sorted(_rows(out, "act-mixed")) == [0, 1, 2]


def test_a_failing_configuration_records_every_seed_as_failed_with_its_error(grid, tmp_path, monkeypatch):
    def broken(cls, estimators, cells_list, y_list):
        raise RuntimeError("no memory for three networks")

    monkeypatch.setattr(ACTPredictor, "fit_many", classmethod(broken))
    report = harness.run_grid(grid, tmp_path / "out", workers=1, progress=False)
    assert len(report.failed) == 3 and report.ran == 5
    assert all("act-mixed" in error and "no memory for three networks" in error for _, _, error in report.failed)


def test_seeds_fitted_together_keep_their_blocks_protocol(tmp_path, fits):
    path = tmp_path / "pinat.toml"
    kwargs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in TINY.items())
    path.write_text(f'[[eval]]\npredictors = "act-mixed"\npredictor_kwargs = {{ {kwargs} }}\nprotocol = "pinat"\n'
                    f'n_train = 78\nseeds = 2\n')
    report = harness.run_grid(spec.load(path), tmp_path / "out", workers=1, progress=False)
    assert (report.ran, report.failed) == (2, []) and fits == [2]
    rows = _rows(tmp_path / "out", "act-mixed")
    assert sorted(rows) == [0, 1]
    assert {(r["protocol"], r["score_metric"], r["n_test"]) for r in rows.values()} == {("pinat", "test", 15625)}
