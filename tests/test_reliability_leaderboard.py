"""The leaderboard never pools what should not be pooled, never drops a source silently, and speaks in
the units of each space's metric."""

from types import SimpleNamespace

import pandas as pd
import pytest

from fake_cells import fake_runner
from nasbench_rank import report
from nasbench_rank.grid import harness, spec
from nasbench_rank.errors import UserError

GRID = "name = 'g'\n[[eval]]\npredictors = ['xgb']\nseeds = 3\n"
OTHER = SimpleNamespace(sha256="ab" * 32, verified=False, path="other.csv")


def grid(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(GRID)
    return spec.load(path)


def test_rows_made_on_different_tables_are_never_pooled_into_one_configuration(tmp_path):
    g = grid(tmp_path)
    harness.run_grid(g, tmp_path / "runs" / "a", workers=1, runner=fake_runner, progress=False)
    harness.run_grid(g, tmp_path / "runs" / "b", workers=1, runner=fake_runner, progress=False, table=OTHER)
    data, counts, recs, notes = report.collect(tmp_path / "runs", tmp_path / "lb", False)
    assert len(recs) == 2 * len(g)  # both folders' cells are kept, told apart by their table
    board = report.leaderboards(data, counts)["eval"]
    kendall = board[board["measure"] == "kendall"]
    assert len(kendall) == 2 and set(kendall["runs"]) == {len(g)}
    shas = {r["provenance"]["table_sha256"][:8] for r in recs}
    assert len(shas) == 2 and OTHER.sha256[:8] in shas and set(kendall["table"]) == shas
    assert set(kendall["cells_finished"]) == {len(g)}
    assert any("2 tables" in n and OTHER.sha256[:8] in n for n in notes)


def test_csv_rows_made_on_different_tables_are_split_by_table(tmp_path):
    rows = [{"predictor": "xgb", "target": "cifar10", "n_train": 100, "seed": s, "kendall": 0.5 + s / 100,
             "table_sha256": sha} for s in range(3) for sha in ("1" * 64, "2" * 64)]
    pd.DataFrame(rows).to_csv(tmp_path / "eval.csv", index=False)
    data, counts, _, notes = report.collect(tmp_path, tmp_path / "lb", False)
    board = report.leaderboards(data, counts)["eval"]
    kendall = board[board["measure"] == "kendall"]
    assert sorted(kendall["table"]) == ["11111111", "22222222"] and set(kendall["runs"]) == {3}


def test_the_same_cells_in_two_folders_are_said_not_dropped_silently(tmp_path):
    g = grid(tmp_path)
    harness.run_grid(g, tmp_path / "runs" / "a", workers=1, runner=fake_runner, progress=False)
    harness.run_grid(g, tmp_path / "runs" / "b", workers=1, runner=fake_runner, progress=False)
    _, _, recs, notes = report.collect(tmp_path / "runs", tmp_path / "lb", False)
    assert len(recs) == len(g)  # the same computation twice is not two seeds
    said = [n for n in notes if "more than one folder" in n]
    assert len(said) == 1 and f"{len(g)} cells" in said[0] and "counted once" in said[0]
    assert str(tmp_path / "runs" / "a") in said[0] and str(tmp_path / "runs" / "b") in said[0]


def test_a_baseline_that_names_no_method_is_refused(tmp_path):
    g = grid(tmp_path)
    harness.run_grid(g, tmp_path / "out", workers=1, runner=fake_runner, progress=False)
    with pytest.raises(UserError, match="baseline 'nosuch' names no method") as info:
        report.write(tmp_path / "out", plots=False, baseline="nosuch")
    assert "xgb" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out" / "leaderboard").exists()  # refused before anything is written
