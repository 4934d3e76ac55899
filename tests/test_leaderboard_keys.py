"""The columns that tell configurations apart on each leaderboard, in the order the tables show them:
predictor-quality rows keep their test size apart, search rows their budget; configurations are
listed in numeric order of their keys."""

import pandas as pd

from nasbench_rank.report.tables import board_keys


def test_predictor_quality_rows_are_keyed_by_protocol_and_test_size():
    df = pd.DataFrame([{"predictor": "xgb", "loss": "", "pool": "full", "metric": "valid", "source": "cifar10",
                        "target": "cifar10", "transfer": False, "n_train": 100, "n_test": 50, "variant": "",
                        "seed": 0, "kendall": 0.5}])
    assert board_keys(df, "eval") == ["predictor", "loss", "pool", "metric", "source", "target", "transfer",
                                      "n_train", "n_test", "variant"]


def test_search_rows_are_keyed_by_strategy_and_budget():
    df = pd.DataFrame([{"predictor": "xgb", "loss": "", "search": "topk", "mode": "online", "source": "cifar10",
                        "dataset": "cifar10", "metric": "valid", "budget": 50, "n_train": 0, "variant": "",
                        "isolation": "process", "seed": 0, "best_test": 93.0}])
    assert board_keys(df, "search") == ["predictor", "loss", "search", "mode", "source", "dataset", "metric",
                                        "budget", "n_train", "variant", "isolation"]


def test_a_board_lists_configurations_in_numeric_order_even_when_a_key_was_read_as_text():
    from nasbench_rank.report.tables import summarize

    df = pd.DataFrame({"predictor": ["xgb"] * 3, "n_train": ["900", "50", "100"], "seed": [0, 0, 0],
                       "kendall": [0.5, 0.3, 0.4]})
    board = summarize(df, ["predictor", "n_train"], ["kendall"])
    assert board["n_train"].tolist() == ["50", "100", "900"]
