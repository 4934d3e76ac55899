"""The README stays short and true: under 200 lines, its quick start is what CI runs, every example
command parses as the CLI defines it and writes only to an ignored scratch folder, and its plugin in
twenty lines registers and ranks cells."""

import re
import shlex
import textwrap
from pathlib import Path

import pytest

from nasbench_rank import plugins
from nasbench_rank.cli import cli
from nasbench_rank.hookspecs import hookimpl

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
OUTPUT_OPTIONS = {"run": "--out-dir", "eval": "--output", "bench": "--out", "leaderboard": "--out"}


def _commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    out = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in re.split(r"\s*&&\s*", line):
                part = part.removeprefix(".venv/bin/")
                if part.startswith("nasbench-rank "):
                    out.append(shlex.split(part)[1:])
    return out


def _parse(args: list[str]):
    """Parse `args` exactly as the CLI would, running nothing; (the click command, its parameters)."""
    ctx = cli.make_context("nasbench-rank", list(args))
    words = ctx._protected_args + ctx.args
    name, command, rest = cli.resolve_command(ctx, words)
    sub = command.make_context(name, rest, parent=ctx)
    while hasattr(command, "resolve_command") and (sub._protected_args or sub.args):  # a group: data info
        name, command, rest = command.resolve_command(sub, sub._protected_args + sub.args)
        sub = command.make_context(name, rest, parent=sub)
    return command, sub.params


def _value(command, params: dict, flag: str):
    return params[next(p.name for p in command.params if flag in getattr(p, "opts", ()))]


def test_readme_is_under_200_lines_with_the_generated_headline_markers():
    assert len(README.splitlines()) < 200
    begin, end = "<!-- BEGIN generated: headline -->", "<!-- END generated: headline -->"
    assert README.count(begin) == 1 and README.count(end) == 1 and README.index(begin) < README.index(end)


def test_the_two_quick_start_commands_are_the_ones_ci_runs():
    setup = "python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e '.[test]' && .venv/bin/nasbench-rank run --predictor act-rank --search topk"
    assert setup in README and "\nbash .ci/run\n" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0 -e '.[test]'" in ci and '"$VENV/bin/python" -m pytest' in ci
    assert "mkdocs\" build --strict" in ci


@pytest.fixture
def paths_the_examples_read(tmp_path, monkeypatch):
    """A scratch folder holding what the examples read (the spec, a finished grid's folder)."""
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "smoke.toml").write_text((ROOT / "benchmarks" / "smoke.toml").read_text())
    (tmp_path / "results" / "tmp" / "smoke").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)


def test_there_is_one_example_per_command_and_each_parses(paths_the_examples_read):
    commands = _commands()
    shown = {args[0] for args in commands}
    assert {"run", "eval", "bench", "leaderboard", "plugins", "data"} <= shown
    assert shown <= set(cli.commands)
    for args in commands:
        _parse(args)  # a misspelt option or a bad value raises a click error here


def test_example_commands_write_only_into_ignored_scratch_folders(paths_the_examples_read):
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/results/tmp/" in ignored and "/results/run/" in ignored
    for args in _commands():
        command, params = _parse(args)
        if command.name in OUTPUT_OPTIONS:
            target = _value(command, params, OUTPUT_OPTIONS[command.name])
            if command.name == "leaderboard" and target is None:  # writes into DIR/leaderboard/
                target = params["results_dir"]
            target = str(target or "")
            # `run` without --out-dir writes to results/run/, ignored too; bench without --out to results/<name>/
            ok = target.startswith("results/tmp/") or (command.name == "run" and target in ("results/run", ""))
            assert ok, f"{args} writes to {target or 'its default folder'}"


def test_the_plugin_in_twenty_lines_registers_and_ranks_cells(monkeypatch, table):
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "@hookimpl" in b)
    assert len([line for line in code.splitlines() if line.strip()]) <= 20
    namespace: dict = {"__name__": "readme_plugin"}
    exec(compile(textwrap.dedent(code), "<README plugin>", "exec"), namespace)
    assert isinstance(namespace["register_predictors"], type(lambda: 0))
    original = plugins.build_manager

    class Plugin:
        register_predictors = staticmethod(namespace["register_predictors"])

    monkeypatch.setattr(plugins, "build_manager", lambda extra=(): original(tuple(extra) + (("readme", Plugin),)))
    plugins.get_plugins.cache_clear()
    try:
        from nasbench_rank.quality.protocol import evaluate_predictor

        name = re.search(r'register\("([^"]+)"', code).group(1)
        rows = evaluate_predictor(name, pool="functional", n_train=100, n_test=500, metric="valid", table=table)
        assert rows[0]["kendall"] > 0.3
    finally:
        plugins.get_plugins.cache_clear()


@pytest.mark.parametrize("args", [["plugins"], ["data", "info", "--space", "nb201"]])
def test_read_only_examples_run(args, capsys):
    assert args in _commands()
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 0 and capsys.readouterr().out
