"""A predictor plugin that raises or answers with the wrong shape stops `run` and `eval` the same way:
one line that names the plugin and what it did, exit 1 (the input was valid; the plugin failed), and
no row."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_rank.cli import main
from nasbench_rank.plugins import Entry, get_plugins


class Raiser:
    def __init__(self, seed: int = 0):
        self.seed = seed

    def get_params(self, deep: bool = True):
        return {"seed": self.seed}

    def set_params(self, **params):
        self.__dict__.update(params)
        return self

    def fit(self, cells, y):
        raise RuntimeError("the fit went wrong")

    def predict(self, cells):  # pragma: no cover - never reached
        return np.zeros(len(cells))


class WrongShape(Raiser):
    def fit(self, cells, y):
        return self

    def predict(self, cells):
        return np.zeros((len(cells), 2))


@pytest.fixture
def broken():
    registry = get_plugins().predictors
    registry.add(Entry("raiser-test-only", "predictor", Raiser, "tests", ""))
    registry.add(Entry("wrongshape-test-only", "predictor", WrongShape, "tests", ""))
    yield
    del registry._entries["raiser-test-only"], registry._entries["wrongshape-test-only"]


def _cli(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    lines = capsys.readouterr().err.strip().splitlines()
    return info.value.code, lines[-1] if lines else ""


COMMANDS = {
    "run": lambda out, name: ["run", "--out-dir", str(out), "--budget", "12", "--predictor", name,
                              "--search", "topk", "--in-process"],
    "eval": lambda out, name: ["eval", "--output", str(out / "rows.csv"), "--predictor", name, "--n-train", "20",
                               "--seeds", "1"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_predictor_that_raises_is_named_in_one_line_and_exit_1(tmp_path, capsys, broken, command):
    code, line = _cli(capsys, *COMMANDS[command](tmp_path, "raiser-test-only"))
    assert code == 1
    assert line.startswith("error:") and "'raiser-test-only'" in line and "the fit went wrong" in line
    assert "unexpected" not in line
    assert not list(tmp_path.glob("*.csv"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_wrong_shape_prediction_stops_run_and_eval_alike(tmp_path, capsys, broken, command):
    code, line = _cli(capsys, *COMMANDS[command](tmp_path, "wrongshape-test-only"))
    assert code == 1
    assert line.startswith("error:") and "'wrongshape-test-only'" in line and "shape" in line
    assert not list(tmp_path.glob("*.csv"))
