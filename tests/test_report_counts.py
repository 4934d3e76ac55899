"""Cell counts of a leaderboard: asked / finished / failed / missing / unreadable / non-finite / stale,
with malformed records planted in a finished grid."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from fake_cells import failing_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank import report
from nasbench_rank.cli import cli
from nasbench_rank.report import records

SPEC = """
name = "g"
[[eval]]
predictors = ["xgb", "mlp"]
targets = ["cifar10"]
seeds = 4
"""


def grid(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(SPEC)
    cells = spec.load(path)
    out = tmp_path / "res"
    harness.run_grid(cells, out, workers=1, runner=failing_runner, progress=False)  # mlp seed 1 fails
    return cells, out


def cell_of(cells, predictor, seed):
    return next(c for c in cells.cells if c.settings["predictor"] == predictor and c.settings["seed"] == seed)


def plant(cells, out):
    """xgb: seed 0 `[]`, seed 1 ok without trace, seed 2 deleted (missing), seed 3 fine but with extra
    fields; mlp: seed 0 not JSON, seed 2 kendall NaN, plus a stale record (seed 9, not in the spec)."""
    path = lambda c: harness.cell_path(out, c.id)  # noqa: E731
    path(cell_of(cells, "xgb", 0)).write_text("[]")
    path(cell_of(cells, "xgb", 1)).write_text(json.dumps({"id": cell_of(cells, "xgb", 1).id, "kind": "eval",
                                                          "status": "ok", "settings": {}, "rows": [{"kendall": 1}]}))
    path(cell_of(cells, "xgb", 2)).unlink()
    extra = path(cell_of(cells, "xgb", 3))
    record = json.loads(extra.read_text())
    extra.write_text(json.dumps({**record, "provenance": {"table_sha256": "abc"}, "host_load": [1, 2]}))
    path(cell_of(cells, "mlp", 0)).write_text("{not json")
    nan_path = path(cell_of(cells, "mlp", 2))
    record = json.loads(nan_path.read_text())
    record["rows"][0]["kendall"] = float("nan")
    nan_path.write_text(json.dumps(record))
    stale = json.loads(path(cell_of(cells, "mlp", 3)).read_text())
    stale["settings"] = {**stale["settings"], "seed": 9}
    stale["id"] = "00stale000000000"
    stale["rows"] = [{**r, "seed": 9, "cell_id": stale["id"]} for r in stale["rows"]]
    (out / "cells" / f"{stale['id']}.json").write_text(json.dumps(stale))
    (out / "cells" / "ffffffffffffffff.json").write_text('{"status": "ok"}')  # unreadable, in no spec
    renamed = json.loads(path(cell_of(cells, "mlp", 3)).read_text())
    (out / "cells" / "eeeeeeeeeeeeeeee.json").write_text(json.dumps(renamed))  # a copy under another name


def by_predictor(frame):
    return {r["label"].split()[1]: r for r in frame.to_dict("records") if r["kind"] == "eval"}


def test_counts_with_planted_malformed_records(tmp_path):
    cells, out = grid(tmp_path)
    plant(cells, out)
    found = records.scan(out)
    counts = records.counts(found)
    rows = by_predictor(counts)
    xgb, mlp = rows["xgb"], rows["mlp"]
    assert (xgb["asked"], xgb["finished"], xgb["failed"], xgb["missing"], xgb["unreadable"]) == (4, 1, 0, 1, 2)
    assert (mlp["asked"], mlp["finished"], mlp["failed"], mlp["missing"], mlp["unreadable"]) == (4, 3, 1, 0, 1)
    assert (mlp["nonfinite"], mlp["stale"]) == (1, 1)  # finished counts the stale cell too, and says so
    orphan = counts[counts["config"] == "?"].iloc[0]
    assert orphan["unreadable"] == 2
    assert "differs from its file name" in found.unreadable["eeeeeeeeeeeeeeee"]
    assert {r["id"] for r in found.finished()} >= {cell_of(cells, "xgb", 3).id, "00stale000000000"}
    assert "00stale000000000" not in {r["id"] for r in found.finished(exclude_stale=True)}


def test_problem_names_what_is_wrong():
    empty_trace = {"constant": {}, "columns": [], "data": []}
    assert records.problem([]) == "not a JSON object but list"
    assert "rows" in records.problem({"id": "a", "kind": "eval", "status": "ok", "settings": {}})
    assert "without rows" in records.problem({"id": "a", "kind": "eval", "status": "ok", "settings": {}, "rows": [],
                                             "trace": empty_trace})
    assert "trace" in records.problem({"id": "a", "kind": "search", "status": "ok", "settings": {}, "rows": [{}]})
    assert "without a trace" in records.problem({"id": "a", "kind": "search", "status": "ok", "settings": {},
                                                 "rows": [{}], "trace": empty_trace})
    assert records.problem({"id": "a", "kind": "eval", "status": "error", "settings": {}, "rows": [],
                            "trace": empty_trace}) is None
    assert "unknown" in records.problem({"id": "a", "kind": "x", "status": "ok", "settings": {}, "rows": [{}],
                                         "trace": empty_trace})
    assert "differs from its file name" in records.problem({"id": "a", "kind": "eval", "status": "error",
                                                            "settings": {}, "rows": [], "trace": empty_trace}, "b")


def test_leaderboard_of_a_damaged_folder_counts_instead_of_crashing(tmp_path):
    cells, out = grid(tmp_path)
    plant(cells, out)
    result = CliRunner().invoke(cli, ["leaderboard", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    board = pd.read_csv(out / "leaderboard" / "leaderboard_eval.csv")
    xgb = board[(board.predictor == "xgb") & (board.measure == "kendall")].iloc[0]
    assert (xgb["runs"], xgb["cells_asked"], xgb["cells_finished"], xgb["cells_missing"], xgb["cells_unreadable"]) == (1, 4, 1, 1, 2)
    mlp = board[(board.predictor == "mlp") & (board.measure == "kendall")].iloc[0]
    assert (mlp["runs"], mlp["n"], mlp["cells_failed"], mlp["cells_nonfinite"], mlp["cells_stale"]) == (3, 2, 1, 1, 1)
    assert "| mlp | 0.5" not in result.output
    assert "3/4 (1 failed, 1 unreadable, 1 non-finite, 1 stale)" in result.output
    assert "1/4 (1 missing, 2 unreadable)" in result.output
    assert "(unreadable records no spec names)" in result.output
    assert "not a JSON object but list" in result.output

    CliRunner().invoke(cli, ["leaderboard", str(out), "--no-plots", "--exclude-stale"])
    board = pd.read_csv(out / "leaderboard" / "leaderboard_eval.csv")
    mlp = board[(board.predictor == "mlp") & (board.measure == "kendall")].iloc[0]
    assert (mlp["runs"], mlp["cells_finished"]) == (2, 2)
    rows = pd.read_csv(out / "leaderboard" / "eval_rows.csv")
    assert 9 not in set(rows["seed"])


def test_a_changed_spec_makes_old_cells_stale(tmp_path):
    cells, out = grid(tmp_path)
    smaller = tmp_path / "g2.toml"
    smaller.write_text(SPEC.replace("seeds = 4", "seeds = 2"))
    harness.run_grid(spec.load(smaller), out, workers=1, runner=failing_runner, progress=False)
    rows = by_predictor(records.counts(records.scan(out)))
    assert (rows["xgb"]["asked"], rows["xgb"]["finished"], rows["xgb"]["stale"]) == (2, 4, 2)


def test_without_run_metadata_asked_is_unknown(tmp_path):
    cells, out = grid(tmp_path)
    for path in (out / "runs").glob("*.json"):
        path.unlink()
    counts = records.counts(records.scan(out))
    assert counts["asked"].isna().all() and counts["missing"].isna().all()
    assert (counts["finished"] + counts["failed"]).tolist() == [4, 4]


@pytest.mark.parametrize("text", ["[]", '{"status": "ok"}', "", "null", '{"id": 3}'])
def test_one_bad_record_alone_is_counted(tmp_path, text):
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "0123456789abcdef.json").write_text(text)
    written = report.write(tmp_path, plots=False)
    assert "| (unreadable records no spec names) | 0 | 0 | 0 | 0 | 1 | 0 | 0 |" in written[0].read_text() or \
        "| (unreadable records no spec names) | ? | 0 | 0 | ? | 1 | 0 | 0 |" in written[0].read_text()
