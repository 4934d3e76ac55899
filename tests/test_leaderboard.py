"""Leaderboards: statistics per configuration on hand-made rows; files, plots and paired tests written."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fake_cells import failing_runner
from nasbench_rank.grid import harness, spec
from nasbench_rank import report
from nasbench_rank.cli import cli
from nasbench_rank.errors import UserError
from nasbench_rank.report import markdown, stats, tables


def test_summarize_groups_by_configuration_not_seed_and_names_each_statistic():
    df = pd.DataFrame({
        "predictor": ["a"] * 4 + ["b"] * 2, "loss": [None] * 4 + ["rank"] * 2, "n_train": [100, 100, 100, 100, 50, 50],
        "seed": [0, 1, 2, 3, 0, 1], "kendall": [0.1, 0.2, 0.3, 0.4, 0.5, 0.7],
    })
    board = tables.summarize(df, ["predictor", "loss", "n_train"], ["kendall"])
    assert list(board.columns) == ["predictor", "loss", "n_train", *tables.STAT_COLUMNS, *tables.CELL_COLUMNS]
    a = board[board.predictor == "a"].iloc[0]
    assert (a["runs"], a["n"], a["loss"], a["statistic"]) == (4, 4, "", "value")
    assert a["median"] == pytest.approx(0.25) and a["iqm"] == pytest.approx(0.25)
    assert a["median_boot95_low"] <= 0.25 <= a["median_boot95_high"]
    assert a["mean"] == pytest.approx(0.25) and a["std"] == pytest.approx(np.std([0.1, 0.2, 0.3, 0.4], ddof=1))
    assert a["mean_t95_high"] - a["mean"] == pytest.approx(3.182446305284263 * a["std"] / 2)
    assert a["cells_finished"] == 4 and math.isnan(a["cells_asked"])  # rows without cell records
    b = board[board.predictor == "b"].iloc[0]
    assert b["median"] == pytest.approx(0.6) and b["loss"] == "rank"


def test_rates_get_wilson_and_evaluations_to_a_goal_are_censored():
    df = pd.DataFrame({
        "search": ["s"] * 5, "budget": [40] * 5, "evals": [40, 40, 40, 40, 25], "seed": range(5),
        "evals_to_optimum": [10.0, np.nan, 20.0, 30.0, np.nan], "reached_optimum": [True, False, True, True, False],
    })
    board = tables.summarize(df, ["search", "budget"], ["evals_to_optimum", "reached_optimum"])
    censored = board[board.measure == "evals_to_optimum"].iloc[0]
    assert censored["statistic"] == "censored" and (censored["reached"], censored["n"]) == (3, 5)
    assert censored["km_median"] == 30.0  # the run that stopped at 25 is censored there, not a success
    assert math.isnan(censored["mean"])  # no mean over the runs that got there
    rate = board[board.measure == "reached_optimum"].iloc[0]
    assert rate["statistic"] == "rate" and rate["rate"] == 0.6
    assert (rate["rate_wilson95_low"], rate["rate_wilson95_high"]) == pytest.approx(stats.wilson_ci(3, 5)[1:])
    assert censored["stopped_early"] == 1


def test_numeric_keys_sort_as_numbers():
    df = pd.DataFrame({"predictor": ["x"] * 3, "n_train": [900, 50, 200], "kendall": [0.5, 0.1, 0.3]})
    board = tables.summarize(df, ["predictor", "n_train"], ["kendall"])
    assert list(board["n_train"]) == [50, 200, 900]


def test_unknown_text_columns_split_configurations():
    df = pd.DataFrame({"predictor": ["x"] * 4, "space": ["nb201", "nb201", "nb101", "nb101"], "seed": [0, 1, 0, 1],
                       "target": ["c"] * 4, "kendall": [0.5, 0.6, 0.1, 0.2]})
    board = tables.leaderboards({"eval": df, "search": pd.DataFrame()})["eval"]
    assert set(board["space"]) == {"nb201", "nb101"} and set(board["runs"]) == {2}


def test_markdown_names_every_interval_and_prints_no_bare_plus_minus():
    df = pd.DataFrame({"predictor": ["a", "a", "b", "b"], "target": ["cifar10"] * 4, "seed": [0, 1, 0, 1],
                       "kendall": [0.4, 0.6, 0.5, 0.5]})
    boards = {"eval": tables.summarize(df, ["predictor", "target"], ["kendall"]), "search": pd.DataFrame()}
    text = markdown.markdown(boards)
    assert "Kendall median [95% bootstrap CI]" in text and "±" not in text
    _, med, lo, hi = stats.median_ci([0.4, 0.6])
    assert f"| a | {med:.3f} [{lo:.3f}, {hi:.3f}] |" in text
    assert "| b | 0.500 [0.500, 0.500] |" in text


def test_paired_table_against_a_baseline():
    rows = []
    for seed in range(6):
        for predictor, value in (("base", 0.5 + 0.01 * seed), ("good", 0.6 + 0.01 * seed), ("mixed", 0.5 + 0.02 * (seed % 2) - 0.01)):
            rows.append({"predictor": predictor, "target": "c", "seed": seed, "kendall": value})
    paired = tables.paired_table(pd.DataFrame(rows), "eval", "base").set_index("method")
    assert paired.loc["good", "n_pairs"] == 6 and paired.loc["good", "win_rate"] == 1.0
    assert paired.loc["good", "wilcoxon_p"] == pytest.approx(2 / 64)
    assert paired.loc["good", "median_diff"] == pytest.approx(0.1)
    assert paired.loc["good", "baseline"] == "base"
    assert tables.paired_table(pd.DataFrame(rows), "eval", "nobody").empty
    two = pd.DataFrame(rows + [{**r, "variant": "x", "predictor": "base"} for r in rows if r["predictor"] == "base"])
    with pytest.raises(UserError, match="matches 2 methods"):
        tables.paired_table(two.fillna({"variant": ""}), "eval", "base")


def test_rank_table_over_tasks():
    rows = [{"predictor": p, "target": t, "seed": 0, "kendall": v}
            for t, values in (("c1", (0.9, 0.8, 0.7)), ("c2", (0.8, 0.9, 0.6)), ("c3", (0.9, 0.7, 0.8)))
            for p, v in zip(("x", "y", "z"), values)]
    rows.append({"predictor": "w", "target": "c1", "seed": 0, "kendall": 1.0})  # not on every task
    ranks, info = tables.rank_table(pd.DataFrame(rows), "eval")
    assert ranks["method"].tolist() == ["x", "y", "z"]
    assert ranks["average_rank"].tolist() == pytest.approx([4 / 3, 2.0, 8 / 3])
    assert info["dropped"] == ["w"] and info["tasks"] == 3
    assert info["cd"] == pytest.approx(stats.critical_difference(3, 3))


def make_grid(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("""
name = "g"
[[eval]]
predictors = ["xgb", "mlp"]
targets = ["cifar10", "cifar100"]
n_train = [100, 300]
seeds = 3
save_predictions = true
[[search]]
predictors = ["xgb"]
searches = ["topk"]
datasets = ["cifar10", "cifar100"]
budget = 15
seeds = 3
[[search]]
searches = ["random"]
datasets = ["cifar10", "cifar100"]
budget = 15
seeds = 3
""")
    out = tmp_path / "res"
    harness.run_grid(spec.load(path), out, workers=1, runner=failing_runner, progress=False)
    return out


def test_leaderboard_command_writes_csvs_markdown_and_plots(tmp_path):
    out = make_grid(tmp_path)
    result = CliRunner().invoke(cli, ["leaderboard", str(out), "--baseline", "xgb"])
    assert result.exit_code == 0, result.output
    lb = out / "leaderboard"
    for name in ("eval_rows.csv", "search_rows.csv", "search_trace.csv", "leaderboard_eval.csv",
                 "leaderboard_search.csv", "cells.csv", "paired_eval.csv", "paired_search.csv", "ranks_search.csv",
                 "leaderboard.md", "search_trace.png", "kendall_vs_ntrain.png",
                 "scatter_xgb.png", "scatter_mlp.png"):
        assert (lb / name).is_file(), name
    for png in lb.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    board = pd.read_csv(lb / "leaderboard_eval.csv")
    mlp = board[(board.predictor == "mlp") & (board.measure == "kendall")]
    assert set(mlp["runs"]) == {2} and set(mlp["cells_asked"]) == {3} and set(mlp["cells_failed"]) == {1}
    assert "2/3 (1 failed)" in result.output  # the failed seed is said, not dropped silently
    assert "## Predictor quality" in result.output and "## Search" in result.output
    assert "paired against xgb" in result.output and "paired against xgb+topk" in result.output
    rows = pd.read_csv(lb / "eval_rows.csv")
    assert len(rows) == (2 * 2 * 3 - 2) * 2 and set(rows["spec"]) == {"g"} and "config" not in rows.columns
    paired = pd.read_csv(lb / "paired_eval.csv")
    assert set(paired["method"]) == {"mlp"} and set(paired["n_pairs"]) == {2}  # seed 1 of mlp failed


def test_a_cell_found_in_two_run_folders_counts_once(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[[eval]]\npredictors = ['xgb']\nseeds = 2\n")
    grid = spec.load(path)
    harness.run_grid(grid, tmp_path / "runs" / "a", workers=1, runner=failing_runner, progress=False)
    harness.run_grid(grid, tmp_path / "runs" / "b", workers=1, runner=failing_runner, progress=False)
    recs = report.finished_records(tmp_path / "runs")
    assert sorted(r["id"] for r in recs) == sorted(c.id for c in grid.cells)


def test_leaderboard_of_an_empty_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no finished cells"):
        report.write(tmp_path)
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path)])
    assert isinstance(result.exception, UserError)  # main() prints it as one line and exits 2


def _search_rows(method, dataset, times, evals=210):
    """Search rows of one method: `times[i]` evaluations to the optimum of seed i, None when never."""
    return [{"predictor": "none", "search": method, "dataset": dataset, "budget": 210, "seed": s,
             "evals_to_optimum": math.nan if t is None else t, "reached_optimum": t is not None,
             "evals": evals if t is None else 210, "best_test": 90.0}
            for s, t in enumerate(times)]


def test_paired_evals_to_optimum_counts_censored_runs_as_later_than_any_run_that_got_there():
    rows = _search_rows("base", "c", [50, 60, 70, None, None, None]) + _search_rows("good", "c", [10, 20, 30, 40, 50, 60])
    paired = tables.paired_table(pd.DataFrame(rows), "search", "base", "evals_to_optimum").set_index("method")
    good = paired.loc["none+good"]
    assert good["n_pairs"] == 6 and good["wins"] == 6 and good["losses"] == 0  # not 3 pairs: censored runs count
    assert good["wilcoxon_p"] == pytest.approx(2 / 64)
    assert good["censored_pairs"] == 3 and good["indeterminate"] == 0
    # both censored: a tie; a censored run stopped (at 100) before the other reached (150): no order known
    rows = _search_rows("base", "c", [None, 150, 20]) + _search_rows("other", "c", [None, None, 30], evals=100)
    other = tables.paired_table(pd.DataFrame(rows), "search", "base", "evals_to_optimum").set_index("method").iloc[0]
    assert other["n_pairs"] == 2 and other["ties"] == 1 and other["losses"] == 1 and other["indeterminate"] == 1


def test_rank_table_of_evals_to_optimum_uses_kaplan_meier_medians_and_never_reaching_ranks_last():
    rows = (_search_rows("fast", "c1", [10, 20, 30]) + _search_rows("slow", "c1", [100, 120, None])
            + _search_rows("never", "c1", [None, None, None]) + _search_rows("fast", "c2", [50, 60, None])
            + _search_rows("slow", "c2", [40, 45, 50]) + _search_rows("never", "c2", [None, None, 200]))
    ranks, info = tables.rank_table(pd.DataFrame(rows), "search", "evals_to_optimum")
    assert ranks["method"].tolist() == ["none+fast", "none+slow", "none+never"]
    assert ranks["average_rank"].tolist() == pytest.approx([1.5, 1.5, 3.0])
    assert info["measure"] == "evals_to_optimum" and info["dropped"] == []


def test_leaderboard_writes_paired_tests_and_ranks_of_evals_to_optimum(tmp_path):
    rows = []
    for dataset in ("c1", "c2"):
        rows += _search_rows("base", dataset, [50, 60, None]) + _search_rows("good", dataset, [10, 20, 30])
        rows += _search_rows("mid", dataset, [40, 50, 60])
    pd.DataFrame(rows).assign(metric="valid", mode="none").to_csv(tmp_path / "runs.csv", index=False)
    written = {p.name for p in report.write(tmp_path, baseline="base", plots=False)}
    assert "ranks_search_evals_to_optimum.csv" in written
    paired = pd.read_csv(tmp_path / "leaderboard" / "paired_search.csv")
    assert {"best_test", "evals_to_optimum"} <= set(paired["measure"])
    text = (tmp_path / "leaderboard" / "leaderboard.md").read_text()
    assert "average ranks across tasks (evals_to_optimum)" in text


def test_a_search_configuration_names_its_label_protocol_so_seed_and_mean_lines_differ():
    from nasbench_rank.report.records import config_label

    base = {"search": "re", "dataset": "cifar10", "budget": 100, "metric": "valid"}
    one_seed = config_label("search", {**base, "oracle": "seed"})
    mean = config_label("search", {**base, "oracle": "mean"})
    assert "labels=seed" in one_seed and "labels=mean" in mean and one_seed != mean
    assert "labels" not in config_label("search", base)  # a cell that chose none keeps its old name
