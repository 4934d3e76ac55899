"""Leaderboards: mean, std, t-interval and n on hand-made rows; files and plots written."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fake_cells import failing_runner
from nasbench_rank import harness, leaderboard, spec
from nasbench_rank.cli import cli

T_975_3 = 3.182446305284263  # two-sided 95% t quantile, 3 degrees of freedom (printed tables)


def test_mean_ci_matches_the_t_interval_by_hand():
    n, mean, std, lo, hi = leaderboard.mean_ci([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert n == 4 and mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))  # sum of squares 5, ddof 1
    half = T_975_3 * math.sqrt(5 / 3) / 2
    assert (lo, hi) == pytest.approx((2.5 - half, 2.5 + half))
    one = leaderboard.mean_ci([0.7])
    assert one[:2] == (1, 0.7) and all(math.isnan(v) for v in one[2:])
    assert leaderboard.mean_ci([])[0] == 0


def test_summarize_groups_by_configuration_not_seed():
    df = pd.DataFrame({
        "predictor": ["a"] * 4 + ["b"] * 2, "loss": [None] * 4 + ["rank"] * 2, "n_train": [100, 100, 100, 100, 50, 50],
        "seed": [0, 1, 2, 3, 0, 1], "kendall": [0.1, 0.2, 0.3, 0.4, 0.5, 0.7],
        "evals_to_optimum": [10.0, np.nan, 30.0, np.nan, 5.0, 7.0],
    })
    board = leaderboard.summarize(df, ["predictor", "loss", "n_train"], ["kendall", "evals_to_optimum"])
    assert list(board.columns) == ["predictor", "loss", "n_train", *leaderboard.STAT_COLUMNS]
    a = board[(board.predictor == "a") & (board.measure == "kendall")].iloc[0]
    assert (a["runs"], a["n"], a["loss"]) == (4, 4, "")
    assert a["mean"] == pytest.approx(0.25) and a["std"] == pytest.approx(np.std([0.1, 0.2, 0.3, 0.4], ddof=1))
    assert a["ci95_high"] - a["mean"] == pytest.approx(T_975_3 * a["std"] / 2)
    censored = board[(board.predictor == "a") & (board.measure == "evals_to_optimum")].iloc[0]
    assert (censored["runs"], censored["n"], censored["mean"]) == (4, 2, 20.0)
    b = board[(board.predictor == "b") & (board.measure == "kendall")].iloc[0]
    assert b["mean"] == pytest.approx(0.6) and b["loss"] == "rank"


def test_numeric_keys_sort_as_numbers():
    df = pd.DataFrame({"predictor": ["x"] * 3, "n_train": [900, 50, 200], "kendall": [0.5, 0.1, 0.3]})
    board = leaderboard.summarize(df, ["predictor", "n_train"], ["kendall"])
    assert list(board["n_train"]) == [50, 200, 900]


def test_markdown_shows_mean_and_ci_half_width():
    df = pd.DataFrame({"predictor": ["a", "a"], "target": ["cifar10"] * 2, "kendall": [0.4, 0.6]})
    boards = {"eval": leaderboard.summarize(df, ["predictor", "target"], ["kendall"]), "search": pd.DataFrame()}
    text = leaderboard.markdown(boards)
    half = 12.706204736174707 * np.std([0.4, 0.6], ddof=1) / math.sqrt(2)
    assert f"| a | cifar10 | 0.500 ± {half:.3f} | 2 |" in text


def test_leaderboard_command_writes_csvs_markdown_and_plots(tmp_path):
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
    result = CliRunner().invoke(cli, ["leaderboard", str(out)])
    assert result.exit_code == 0, result.output
    lb = out / "leaderboard"
    for name in ("eval_rows.csv", "search_rows.csv", "search_trace.csv", "leaderboard_eval.csv",
                 "leaderboard_search.csv", "leaderboard.md", "search_trace.png", "kendall_vs_ntrain.png",
                 "scatter_xgb.png", "scatter_mlp.png"):
        assert (lb / name).is_file(), name
    for png in lb.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    board = pd.read_csv(lb / "leaderboard_eval.csv")
    mlp = board[(board.predictor == "mlp") & (board.measure == "kendall")]
    assert set(mlp["runs"]) == {2}  # seed 1 failed: only finished cells count
    assert "## Predictor quality" in result.output and "## Search" in result.output
    rows = pd.read_csv(lb / "eval_rows.csv")
    assert len(rows) == (2 * 2 * 3 - 2) * 2 and set(rows["spec"]) == {"g"}


def test_a_cell_found_in_two_run_folders_counts_once(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[[eval]]\npredictors = ['xgb']\nseeds = 2\n")
    grid = spec.load(path)
    harness.run_grid(grid, tmp_path / "runs" / "a", workers=1, runner=failing_runner, progress=False)
    harness.run_grid(grid, tmp_path / "runs" / "b", workers=1, runner=failing_runner, progress=False)
    records = leaderboard.finished_records(tmp_path / "runs")
    assert sorted(r["id"] for r in records) == sorted(c.id for c in grid.cells)


def test_leaderboard_of_an_empty_directory_is_a_user_error(tmp_path):
    from nasbench_rank.errors import UserError

    with pytest.raises(UserError, match="no finished cells"):
        leaderboard.write(tmp_path)
