"""The scoreboard of a results folder (report.scoreboard, report.regret_plots) on synthetic rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nasbench_rank.report import scoreboard


def synthetic(n_seeds=8, budget=30, datasets=("cifar10", "cifar100")):
    """Method 'good' halves its regret each evaluation from 4; 'bad' from 8; seeds jitter both."""
    rows, trace = [], []
    for dataset in datasets:
        for search, start in (("good", 4.0), ("bad", 8.0)):
            for seed in range(n_seeds):
                cell = f"{dataset}-{search}-{seed}"
                rng = np.random.default_rng(seed)
                reg = [start * (1 + 0.1 * rng.random()) * 0.8 ** t for t in range(budget)]
                for t, r in enumerate(reg):
                    trace.append({"cell_id": cell, "seed": seed, "eval": t + 1, "regret": r, "test_regret": r,
                                  "gpu_hours": 0.5 * (t + 1), "dataset": dataset})
                hit = next((t + 1 for t, r in enumerate(reg) if r <= 0.2), math.nan)
                row = {"cell_id": cell, "space": "nb201", "dataset": dataset, "oracle": "seed", "search": search,
                       "predictor": "none", "mode": "none", "seed": seed, "budget": budget, "evals": budget,
                       "final_regret": reg[-1], "evals_to_hit_0.2": hit}
                for m in (25, 50):
                    if m <= budget:
                        row[f"regret_at_{m}"] = reg[m - 1]
                rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(trace)


def test_the_table_marks_the_lowest_median_best_and_tests_the_others_against_it_paired():
    rows, trace = synthetic()
    rows, _ = scoreboard.tidy(rows, trace)
    board = scoreboard.table(rows)
    at25 = board[(board["evals"] == 25) & (board["dataset"] == "cifar10")].set_index("method")
    assert bool(at25.loc["none+good", "best"]) and not bool(at25.loc["none+bad", "best"])
    assert at25.loc["none+bad", "vs_best_p"] < 0.05  # 8 of 8 seeds worse
    assert at25.loc["none+bad", "vs_best_pairs"] == 8
    assert at25.loc["none+good", "median_low"] <= at25.loc["none+good", "median_regret"] <= at25.loc["none+good", "median_high"]
    assert 50 not in set(board["evals"])  # a mark past the budget does not exist
    # hit 0.2: good needs ~14 evaluations (4 * 0.8^t <= 0.2), bad ~17
    assert at25.loc["none+good", "evals_to_hit_0.2_km_median"] < at25.loc["none+bad", "evals_to_hit_0.2_km_median"]
    assert at25.loc["none+good", "evals_to_hit_0.2_reached"] == "8/8"


def test_never_hitting_is_censored_not_dropped():
    rows, trace = synthetic(budget=10)  # regret never gets to 0.2 within 10 evaluations
    rows, _ = scoreboard.tidy(rows, trace)
    rows["regret_at_10"] = rows["final_regret"]
    board = scoreboard.table(rows, marks=(10,))
    assert set(board["evals_to_hit_0.2_reached"]) == {"0/8"}
    assert board["evals_to_hit_0.2_km_median"].isna().all()


def test_average_rank_over_time_ranks_the_lower_median_first_on_every_dataset():
    curves = {("nb201", "cifar10", "seed"): {"a": np.array([2.0, 1.0, 0.5]), "b": np.array([1.0, 2.0, 1.0])},
              ("nb201", "cifar100", "seed"): {"a": np.array([2.0, 1.0, 0.5]), "b": np.array([3.0, 2.0, 1.0])}}
    ranks = scoreboard.average_rank(curves).set_index(["eval", "method"])["average_rank"]
    assert ranks[(1, "a")] == 1.5 and ranks[(1, "b")] == 1.5
    assert ranks[(2, "a")] == 1.0 and ranks[(3, "b")] == 2.0


def test_curves_keep_the_last_incumbent_after_a_run_stops_and_are_nan_before_the_first_result():
    trace = pd.DataFrame({"seed": [0, 0, 1], "eval": [2, 3, 1], "regret": [5.0, 1.0, 2.0], "gpu_hours": [1, 2, 1]})
    mat, seeds = scoreboard.curve_matrix(trace, 4)
    assert seeds == [0, 1]
    assert np.isnan(mat[0, 0]) and list(mat[0, 1:]) == [5.0, 1.0, 1.0]
    assert list(mat[1]) == [2.0] * 4
    med, lo, hi = scoreboard.median_band(mat)
    assert med[3] == 1.5 and lo[3] <= med[3] <= hi[3]


def test_write_makes_the_markdown_csvs_and_plots(tmp_path):
    rows, trace = synthetic()
    written = scoreboard.write(rows, trace, tmp_path)
    names = {p.name for p in written}
    assert {"scoreboard.md", "scoreboard.csv", "average_rank.csv", "regret_curves_evals.png",
            "regret_curves_hours.png", "average_rank.png"} <= names
    text = (tmp_path / "scoreboard.md").read_text()
    assert "one training seed per query" in text and "**none+good**" in text


def test_rows_without_regret_columns_make_no_scoreboard(tmp_path):
    assert scoreboard.write(pd.DataFrame([{"search": "x"}]), pd.DataFrame(), tmp_path) == []


def test_runs_shorter_than_every_mark_still_get_a_scoreboard_page(tmp_path):
    rows, trace = synthetic(budget=12)
    written = scoreboard.write(rows, trace, tmp_path, plots=False)
    assert "No run reached a mark of the table" in (tmp_path / "scoreboard.md").read_text()
    assert tmp_path / "scoreboard.md" in written
