"""Grid specs: expansion into cells, stable ids, and refusal that lists every problem."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_rank.grid import spec
from nasbench_rank.cli import cli

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
name = "tiny"
[defaults]
seeds = 3
metric = "test"

[[eval]]
predictors = ["xgb", "mlp"]
targets = ["cifar10", "ImageNet16-120"]
n_train = [100, 200]
n_test = 50

[[search]]
predictors = ["xgb"]
searches = ["topk", "random"]
datasets = ["cifar10", "cifar100"]
modes = ["pretrained", "online"]
budget = 20

[[search]]
searches = "random"
modes = ["pretrained", "online"]
budget = 20
"""


def write(tmp_path: Path, text: str, name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_expansion_crosses_every_list_and_counts_seeds(tmp_path):
    s = spec.load(write(tmp_path, GOOD))
    kinds = [c.kind for c in s.cells]
    assert kinds.count("eval") == 2 * 2 * 3  # predictors x n_train x seeds; targets stay one cell
    # xgb: searches x datasets x modes x seeds; predictor-free random collapses the modes: 1 x 3
    assert kinds.count("search") == 2 * 2 * 2 * 3 + 3
    assert s.name == "tiny"
    first = s.cells[0].settings
    assert first["targets"] == ["cifar10", "imagenet16"]  # canonical names
    assert {c.settings["seed"] for c in s.cells} == {0, 1, 2}
    assert [c.settings["seed"] for c in s.cells] == sorted(c.settings["seed"] for c in s.cells)  # seed-major
    free = [c for c in s.cells if c.kind == "search" and c.settings["predictor"] is None]
    assert all(c.settings["mode"] is None and c.settings["n_train"] is None for c in free)


def test_cell_ids_are_stable_unique_and_independent_of_block_order(tmp_path):
    a = spec.load(write(tmp_path, GOOD))
    blocks = GOOD.split("[[")
    reordered = blocks[0] + "[[" + "[[".join(reversed(blocks[1:]))
    b = spec.load(write(tmp_path, reordered, "other.toml"))
    assert len({c.id for c in a.cells}) == len(a.cells)
    assert {c.id: c.settings for c in a.cells} == {c.id: c.settings for c in b.cells}
    again = spec.make_cell("eval", dict(a.cells[0].settings))
    assert again.id == a.cells[0].id
    changed = spec.make_cell("eval", {**a.cells[0].settings, "n_test": 51})
    assert changed.id != a.cells[0].id


def test_refusal_lists_every_problem_one_per_line(tmp_path):
    bad = """
name = "bad"
colour = "red"
[[eval]]
predictors = ["xgbb", "mlp"]
losses = ["rnk"]
targets = ["cifar10", "mnist"]
pool = "everything"
n_train = 0
metric = "tst"
seeds = -1
sead = 3
[[search]]
searches = ["nope"]
modes = ["sometimes"]
budget = "lots"
"""
    with pytest.raises(spec.SpecError) as info:
        spec.load(write(tmp_path, bad))
    problems = info.value.problems
    text = "\n".join(problems)
    for needle in ("colour", "'xgbb' (did you mean 'xgb'?)", "'rnk'", "mnist", "everything", "n_train = 0",
                   "metric = 'tst'", "seeds", "'sead' (did you mean 'seeds'?)", "'nope'", "sometimes", "budget = 'lots'"):
        assert needle in text, needle
    assert all("\n" not in p for p in problems)
    assert str(info.value).count("\n") == len(problems)


def test_plugin_settings_and_sizes_are_checked_against_the_plugins(tmp_path):
    bad = """
[[eval]]
predictors = ["xgb"]
losses = ["mse"]
predictor_kwargs = { n_trees = 3 }
pool = "unique"
n_train = 6400
n_test = 100
[[search]]
predictors = ["xgb"]
searches = ["topk"]
search_kwargs = { rounds = 3 }
"""
    with pytest.raises(spec.SpecError) as info:
        spec.load(write(tmp_path, bad))
    text = "\n".join(info.value.problems)
    assert "'xgb' takes no 'n_trees'" in text
    assert "'xgb' takes no loss" in text
    assert "'topk' takes no 'rounds'" in text
    assert "6400 + n_test 100 > 6466" in text


def test_overlapping_blocks_are_refused(tmp_path):
    twice = "[[search]]\nsearches = ['random']\n[[search]]\nsearches = ['random']\n"
    with pytest.raises(spec.SpecError, match="appears twice"):
        spec.load(write(tmp_path, twice))


def test_cli_dry_run_prints_count_and_first_cells(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["bench", str(path), "--dry-run", "--show", "2", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("spec tiny: 39 cells (12 eval, 27 search), 0 already finished")
    assert len(lines) == 4 and lines[3].strip() == "... 37 more"
    assert not (tmp_path / "o").exists()  # a dry run writes nothing


def test_cli_refuses_a_bad_spec_with_exit_2_and_every_problem(tmp_path, capsys):
    from nasbench_rank.cli import main

    path = write(tmp_path, "[[eval]]\npredictors = ['nope']\nmetric = 'x'\n")
    with pytest.raises(SystemExit) as info:
        main(["bench", str(path), "--dry-run"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "2 problems" in err and "unknown predictor 'nope'" in err and "metric = 'x'" in err


@pytest.mark.parametrize("name", ["smoke.toml", "article.toml"])
def test_shipped_specs_are_valid(name):
    s = spec.load(ROOT / "benchmarks" / name)
    assert len(s.cells) > 0


def test_article_spec_covers_the_three_tables_with_ten_seeds():
    cells = spec.load(ROOT / "benchmarks" / "article.toml").cells
    evals = [c.settings for c in cells if c.kind == "eval"]
    searches = [c.settings for c in cells if c.kind == "search"]
    assert {s["predictor"] for s in evals} == {"act-mse", "act-rank", "act-mixed", "xgb", "mlp-mse", "mlp-mixed"}
    assert all(s["pool"] == "full" and s["n_train"] == 900 and s["n_test"] == 100 and s["metric"] == "test" for s in evals)
    assert all(set(s["targets"]) == {"cifar10", "cifar100", "imagenet16"} for s in evals)
    assert {(s["predictor"], s["search"]) for s in searches} == {
        ("act-mixed", "topk"), ("act-rank", "topk"), ("xgb", "topk"), (None, "random"), (None, "evolution")}
    assert all(s["budget"] == 210 and s["metric"] == "test" for s in searches)
    assert {s["dataset"] for s in searches} == {"cifar10", "cifar100", "imagenet16"}
    assert all(s["source"] == "cifar10" and s["n_train"] == 900 for s in searches if s["predictor"])
    assert min(len({s["seed"] for s in group}) for group in (evals, searches)) >= 10
