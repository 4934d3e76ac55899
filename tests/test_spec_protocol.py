"""A grid's `[[eval]]` block can name a published predictor-quality protocol (`protocol = "pinat"`), as
`nasbench-rank eval --protocol` does: the protocol supplies pool, metrics, training sizes and scored
set, keys written in the block override it, and rows name the protocol. Blocks without the key keep
the cell ids they always had."""

from __future__ import annotations

import pytest

from nasbench_rank.grid import harness, spec
from nasbench_rank.quality.protocol import PROTOCOLS, evaluate_predictor


def _cells(block, **data):
    cells, problems = spec.expand({"eval": [block], **data})
    assert problems == []
    return cells


def test_a_block_without_a_protocol_keeps_the_cell_ids_it_always_had():
    cells = _cells({"predictors": "params", "n_train": [100, 900], "seeds": 2})
    # ids of this block before protocols could be named in a spec
    assert [c.id for c in cells] == ["6d96deb645ab0274", "cc53baeba0ebd369", "510182732a62bf56", "af684c8275e33aeb"]
    assert all("protocol" not in c.settings and "score_metric" not in c.settings for c in cells)


def test_a_pinat_block_expands_to_the_pinat_sizes_and_scores_on_test_accuracy_of_every_cell():
    cells = _cells({"predictors": "params", "protocol": "pinat", "seeds": 2})
    assert sorted({c.settings["n_train"] for c in cells}) == [78, 156, 469, 781, 1563] and len(cells) == 10
    for c in cells:
        s = c.settings
        assert (s["protocol"], s["pool"], s["metric"], s["score_metric"], s["n_test"]) == (
            "pinat", "full", "valid", "test", "all")
    assert "protocol=pinat" in cells[0].label()


def test_a_naslib_block_scores_200_held_out_cells_on_valid():
    cells = _cells({"predictors": "params", "protocol": "naslib"})
    assert sorted(c.settings["n_train"] for c in cells) == list(PROTOCOLS["naslib"]["n_train"])
    assert {(c.settings["pool"], c.settings["metric"], c.settings["n_test"]) for c in cells} == {("full", "valid", 200)}
    assert all(c.settings["protocol"] == "naslib" for c in cells)


def test_keys_written_in_the_block_override_the_protocol_and_a_changed_protocol_is_not_named():
    kept = _cells({"predictors": "params", "protocol": "pinat", "n_train": 78})
    assert [c.settings["protocol"] for c in kept] == ["pinat"]  # one of its sizes: still PINAT's protocol
    custom = _cells({"predictors": "params", "protocol": "pinat", "n_train": 100, "n_test": 500})
    (s,) = [c.settings for c in custom]
    assert (s["n_train"], s["n_test"], s["pool"], s["score_metric"]) == (100, 500, "full", "test")
    assert "protocol" not in s  # as `eval`: settings that differ from the protocol are a custom protocol
    (same,) = _cells({"predictors": "params", "protocol": "pinat", "n_train": 78, "metric": "test"})
    assert same.settings["metric"] == "test" and "score_metric" not in same.settings  # scored on the metric given


def test_the_protocol_overrides_the_spec_defaults_but_not_the_block():
    cells = _cells({"predictors": "params", "protocol": "naslib"}, defaults={"pool": "functional", "seeds": 2})
    assert {c.settings["pool"] for c in cells} == {"full"} and len(cells) == 6


def test_a_pinat_cell_run_by_the_grid_scores_test_accuracy_of_all_cells_and_rows_name_pinat(tmp_path, table):
    path = tmp_path / "pinat.toml"
    path.write_text('[[eval]]\npredictors = "params"\nprotocol = "pinat"\nn_train = 78\n')
    report = harness.run_grid(spec.load(path), tmp_path / "out", workers=1, progress=False)
    assert (report.ran, report.failed) == (1, [])
    (record,) = harness.load_records(tmp_path / "out")
    (row,) = record["rows"]
    assert (row["protocol"], row["score_metric"], row["metric"], row["n_test"], row["n_scored"]) == (
        "pinat", "test", "valid", 15625, 15625)
    (alone,) = evaluate_predictor("params", n_train=78, pool="full", metric="valid", score_metric="test",
                                  n_test="all", table=table)
    (on_valid,) = evaluate_predictor("params", n_train=78, pool="full", metric="valid", n_test="all", table=table)
    assert row["kendall"] == pytest.approx(alone["kendall"]) and row["kendall"] != pytest.approx(on_valid["kendall"])


@pytest.mark.parametrize("value, needle", [
    ("pinatt", "protocol = 'pinatt': must be one of functional, unique, article, pinat, naslib (did you mean 'pinat'?)"),
    (["pinat", "naslib"], "protocol must be one protocol name (one block per protocol)"),
])
def test_an_unknown_protocol_is_refused_in_one_line(value, needle):
    _, problems = spec.expand({"eval": [{"predictors": "params", "protocol": value}]})
    assert len(problems) == 1 and needle in problems[0] and "\n" not in problems[0]


def test_a_published_protocol_on_another_space_is_refused():
    _, problems = spec.expand({"eval": [{"predictors": "xgb", "space": "fcnet", "protocol": "pinat"}]})
    assert any("protocol 'pinat' is defined on nb201 only" in p for p in problems)


def test_bench_refuses_an_unknown_protocol_with_exit_2_before_any_work(tmp_path, capsys):
    from nasbench_rank.cli import main

    path = tmp_path / "bad.toml"
    path.write_text('[[eval]]\npredictors = "params"\nprotocol = "pinnat"\n')
    with pytest.raises(SystemExit) as info:
        main(["bench", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "protocol = 'pinnat'" in err and "1 problem" in err
    assert not (tmp_path / "out").exists()


def test_saved_predictions_of_a_pinat_cell_cover_every_cell_with_its_test_accuracy(tmp_path, table):
    import pandas as pd

    path = tmp_path / "pinat.toml"
    path.write_text('[[eval]]\npredictors = "params"\nprotocol = "pinat"\nn_train = 78\nsave_predictions = true\n')
    grid = spec.load(path)
    assert harness.run_grid(grid, tmp_path / "out", workers=1, progress=False).failed == []
    saved = pd.read_csv(tmp_path / "out" / "predictions" / grid.cells[0].id / harness.PREDICTIONS_CSV)
    assert len(saved) == 15625 and sorted(saved["index"]) == list(range(15625))
    assert saved["true"].to_numpy() == pytest.approx(table.accuracy("cifar10", "test", fraction=True), abs=1e-6)
