"""`nasbench-rank eval`: progress, tidy CSV rows merged without duplicates, summary, one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nasbench_rank.cli import cli, main
from nasbench_rank.quality.protocol import read_rows
from nasbench_rank.predictors.persist import load_predictor, read_meta

TINY = ["--predictor", "xgb", "--set", "n_estimators=10", "--set", "max_depth=3", "--n-train", "60", "--n-test", "30"]


def run(*args: str):
    return CliRunner().invoke(cli, ["eval", *TINY, *args], catch_exceptions=False)


def test_eval_writes_rows_prints_progress_and_a_summary(tmp_path):
    out = tmp_path / "eval.csv"
    result = run("--seeds", "2", "--output", str(out))
    assert result.exit_code == 0
    assert "[1/2] seed 0" in result.stderr and "[2/2] seed 1" in result.stderr
    frame = read_rows(out)
    assert len(frame) == 6 and sorted(set(frame["seed"])) == [0, 1]
    assert set(frame["target"]) == {"cifar10", "cifar100", "imagenet16"}
    assert set(frame["predictor_kwargs"]) == {'{"max_depth": 3, "n_estimators": 10}'}
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["target", "n", "spearman", "kendall"]
    c10 = next(line for line in lines if line.startswith("cifar10 "))
    mean = frame[frame["target"] == "cifar10"]["kendall"].mean()
    assert c10.split()[1] == "2" and f"{mean:.3f} ±" in c10


def test_a_rerun_skips_finished_seeds_and_overwrite_replaces_them(tmp_path):
    out = tmp_path / "eval.csv"
    run("--seeds", "2", "--output", str(out))
    first = read_rows(out)
    again = run("--seeds", "3", "--output", str(out))
    assert "skipping 2 seed(s)" in again.stderr and "[1/1] seed 2" in again.stderr
    assert len(read_rows(out)) == 9
    forced = run("--seeds", "2", "--output", str(out), "--overwrite")
    assert "[2/2] seed 1" in forced.stderr
    frame = read_rows(out)
    assert len(frame) == 9
    assert not frame.set_index(["seed", "target"])["fit_seconds"].loc[0].equals(
        first.set_index(["seed", "target"])["fit_seconds"].loc[0])


def test_a_different_protocol_adds_rows_instead_of_replacing(tmp_path):
    out = tmp_path / "eval.csv"
    run("--seeds", "1", "--output", str(out))
    run("--seeds", "1", "--output", str(out), "--metric", "test", "--target", "cifar10")
    frame = read_rows(out)
    assert len(frame) == 4 and sorted(set(frame["metric"])) == ["test", "valid"]


def test_eval_saves_one_predictor_per_seed(tmp_path):
    saved = tmp_path / "saved"
    result = run("--seeds", "2", "--output", str(tmp_path / "e.csv"), "--save-predictor", str(saved), "--pool", "unique",
                 "--n-test", "rest", "--metric", "valid", "--target", "cifar10")
    assert result.exit_code == 0
    assert read_meta(saved / "seed-1")["protocol"]["seed"] == 1
    assert read_meta(saved / "seed-0")["protocol"]["pool"] == "unique"
    assert load_predictor(saved / "seed-0").predict([(0, 0, 0, 0, 0, 0)]).shape == (1,)
    assert read_rows(tmp_path / "e.csv")["n_test"].tolist() == [6466 - 60] * 2


@pytest.mark.parametrize("args, message", [
    (["--predictor", "xbg"], "unknown predictor 'xbg'"),
    (["--predictor", "mlp", "--loss", "rnak"], "unknown loss 'rnak'"),
    (["--predictor", "xgb", "--pool", "tiny"], "unknown pool"),
    (["--predictor", "xgb", "--n-test", "most"], "--n-test"),
    (["--predictor", "xgb", "--metric", "train"], "unknown metric"),
    (["--predictor", "xgb", "--target", "cifar10,svhn"], "unknown dataset 'svhn'"),
    (["--predictor", "xgb", "--set", "depth"], "key=value"),
    (["--predictor", "xgb", "--set", "depth=3"], "rejected its settings"),
    (["--predictor", "xgb", "--seeds", "0"], "--seeds"),
    (["--predictor", "xgb", "--n-train", "15600"], "exceeds"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["eval", *args, "--output", str(tmp_path / "e.csv")])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "e.csv").exists()


def test_another_table_is_never_taken_for_finished_work_and_is_said_once(tmp_path, table):
    """Rows carry the table's checksum and the resume key includes it: seeds written from the published
    table are not skipped when `--data` names another table, and both tables' rows stay."""
    other = tmp_path / "other.csv"
    frame = table.df.copy()
    frame.loc[0, "cifar10_valid"] = frame.loc[0, "cifar10_valid"] - 0.01  # still a valid table, another checksum
    frame.to_csv(other, index=False)
    out = tmp_path / "eval.csv"
    run("--seeds", "1", "--output", str(out), "--target", "cifar10")
    again = run("--seeds", "1", "--output", str(out), "--target", "cifar10", "--data", str(other))
    assert "skipping" not in again.stderr and "[1/1] seed 0" in again.stderr
    assert again.stderr.count("not the published one") == 1
    rows = read_rows(out)
    assert len(rows) == 2 and rows["table_sha256"].nunique() == 2
    assert set(rows["table_verified"].astype(str)) == {"True", "False"}
