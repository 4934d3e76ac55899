import subprocess
import sys

import pytest
from click.testing import CliRunner

from nasbench_rank import __version__, bench
from nasbench_rank.cli import cli


def _cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasbench_rank.cli", *args], capture_output=True, text=True, env=env)


def test_version_and_help():
    runner = CliRunner()
    assert __version__ in runner.invoke(cli, ["--version"]).output
    out = runner.invoke(cli, ["--help"]).output
    assert "plugins" in out and "data" in out


def test_data_info_prints_the_optima_and_verified_status():
    result = CliRunner().invoke(cli, ["data", "info"])
    assert result.exit_code == 0
    for value in ("94.37", "73.51", "47.31", "91.61", "73.49", "46.73"):
        assert value in result.output
    assert "verified (matches" in result.output and "15625" in result.output


def test_data_verify_passes_on_the_shared_table():
    result = CliRunner().invoke(cli, ["data", "verify"])
    assert result.exit_code == 0 and result.output.startswith("ok:")


def test_data_verify_fails_on_a_truncated_table_with_one_line(tmp_path):
    table = bench.load()
    path = tmp_path / "nb201.csv"
    table.df.head(99).to_csv(path, index=False)
    proc = _cli("data", "verify", "--data", str(path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "has 99 rows, expected 15625" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plugins_lists_name_kind_and_source_one_per_line():
    result = CliRunner().invoke(cli, ["plugins"])
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "predictor" in lines["xgb"] and "nasbench-rank (built-in)" in lines["xgb"]
    assert "loss" in lines["rank"] and "search" in lines["topk"]


@pytest.mark.parametrize("args", [["bogus"], ["data", "info", "--bogus"], ["data", "info", "--data", "/no/such.csv"]])
def test_bad_usage_is_one_line_on_stderr_with_exit_code_2(args):
    proc = _cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
