"""`leaderboard` reads what `run` and `eval` write, beside `bench` grids."""

import pandas as pd
from click.testing import CliRunner

from nasbench_rank import report
from nasbench_rank.cli import cli
from nasbench_rank.quality.protocol import COLUMNS
from nasbench_rank.loop.runs import RUN_COLUMNS, TRACE_COLUMNS


def run_rows(budget=20, evals=(20, 20, 12)):
    rows, trace = [], []
    for seed, made in enumerate(evals):
        best = [80.0 + e * 0.5 for e in range(1, made + 1)]
        row = {c: "" for c in RUN_COLUMNS}
        row.update(predictor="none", loss="", search="random", mode="none", source="", dataset="cifar10", metric="valid",
                   budget=budget, seed=seed, n_train=0, evals=made, best_test=best[-1], best_valid=best[-1],
                   evals_to_optimum=float("nan"), reached_optimum=False, evals_to_threshold=5.0 if seed else float("nan"),
                   reached_threshold=bool(seed), optimum_test=94.37, gpu_hours=1.0, predictor_kwargs="", search_kwargs="")
        rows.append(row)
        for e, b in enumerate(best, start=1):
            t = {c: row.get(c, "") for c in TRACE_COLUMNS}
            t.update(seed=seed, eval=e, best_test=b, test=b, value=b, best_value=b, index=e, best_index=e)
            trace.append(t)
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS)), pd.DataFrame(trace, columns=list(TRACE_COLUMNS))


def eval_rows():
    rows = []
    for seed in range(3):
        row = {c: "" for c in COLUMNS}
        row.update(predictor="xgb", loss="", predictor_kwargs="{}", pool="full", metric="valid", source="cifar10",
                   target="cifar10", n_train=100, n_test=50, seed=seed, kendall=0.6 + 0.01 * seed, spearman=0.8,
                   r2=0.5, mae=0.02, precision_top5pct=0.3, fit_seconds=0.1, transfer=False, version="x")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_leaderboard_reads_run_and_eval_csvs_and_flags_a_short_search(tmp_path):
    runs, trace = run_rows()
    (tmp_path / "run").mkdir()
    runs.to_csv(tmp_path / "run" / "runs.csv", index=False)
    trace.to_csv(tmp_path / "run" / "trace.csv", index=False)
    eval_rows().to_csv(tmp_path / "eval.csv", index=False)
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lb = tmp_path / "leaderboard"
    search = pd.read_csv(lb / "leaderboard_search.csv")
    best = search[search.measure == "best_test"].iloc[0]
    assert (best["runs"], best["cells_finished"], best["stopped_early"]) == (3, 3, 1)
    assert best["median"] == 90.0  # 80 + 0.5 * 20, two of three runs
    quality = pd.read_csv(lb / "leaderboard_eval.csv")
    kendall = quality[quality.measure == "kendall"].iloc[0]
    assert kendall["runs"] == 3 and kendall["median"] == 0.61
    assert "**1**" in result.output  # the search that stopped after 12 of 20 evaluations is flagged
    assert "rows in the format of `nasbench-rank run`" in result.output and "rows in the format of `nasbench-rank eval`" in result.output
    assert (lb / "search_trace.png").is_file()
    # a second pass does not read its own output back as input
    again = CliRunner().invoke(cli, ["leaderboard", str(tmp_path), "--no-plots"])
    assert again.exit_code == 0
    assert pd.read_csv(lb / "leaderboard_eval.csv").equals(quality)


def test_leaderboard_of_one_csv_file(tmp_path):
    eval_rows().to_csv(tmp_path / "eval.csv", index=False)
    written = report.write(tmp_path / "eval.csv", plots=False)
    assert written[0] == tmp_path / "leaderboard" / "leaderboard.md"
    assert "0.610 [" in written[0].read_text()


def test_non_finite_csv_rows_are_counted_not_averaged(tmp_path):
    rows = eval_rows()
    rows.loc[1, "kendall"] = float("nan")
    rows.to_csv(tmp_path / "eval.csv", index=False)
    report.write(tmp_path, plots=False)
    board = pd.read_csv(tmp_path / "leaderboard" / "leaderboard_eval.csv")
    kendall = board[board.measure == "kendall"].iloc[0]
    assert (kendall["runs"], kendall["n"], kendall["cells_nonfinite"], kendall["median"]) == (3, 2, 1, 0.61)


def test_real_run_and_eval_outputs(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--search", "random", "--budget", "12", "--seeds", "2", "--out-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["eval", "--predictor", "xgb", "--n-train", "40", "--n-test", "40", "--seeds", "2",
                                 "--target", "cifar10", "--output", str(tmp_path / "e.csv"), "--set", "n_estimators=5"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["leaderboard", str(tmp_path), "--no-plots"])
    assert result.exit_code == 0, result.output
    search = pd.read_csv(tmp_path / "leaderboard" / "leaderboard_search.csv")
    assert set(search.loc[search.measure == "best_test", "runs"]) == {2}
    quality = pd.read_csv(tmp_path / "leaderboard" / "leaderboard_eval.csv")
    assert set(quality.loc[quality.measure == "kendall", "runs"]) == {2}
