"""Generated result pages: every committed page, its figures and the README's headline block are what
the generator writes from the committed result folders; the protocol text states what the pools hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nasbench_rank.errors import UserError
from nasbench_rank.report import pages

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "results"
COMMITTED_PAGES = sorted(p for p in DOCS.glob("*.md") if (ROOT / "results" / p.stem / "leaderboard").is_dir()) \
    if DOCS.is_dir() else []


def test_result_pages_exist_for_committed_folders():
    assert COMMITTED_PAGES, "no generated page under docs/results/ for any results/<name>/leaderboard"


@pytest.mark.parametrize("page", COMMITTED_PAGES, ids=lambda p: p.stem)
def test_committed_page_is_what_the_generator_writes(page: Path):
    folder = ROOT / "results" / page.stem
    expected = pages.result_page(folder, ROOT, "docs/results")
    assert page.read_text(encoding="utf-8") == expected, (
        f"{page.relative_to(ROOT)} differs from what the generator writes; rerun "
        f"'nasbench-rank leaderboard results/{page.stem} --pages docs/results'")
    for png in pages.figures(folder):
        copy = DOCS / page.stem / png.name
        assert copy.read_bytes() == png.read_bytes(), f"{copy} differs from {png}"
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", expected)
    assert all((DOCS / link).is_file() for link in linked)


def test_readme_headline_block_is_what_the_generator_writes_from_its_folder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.find(pages.HEADLINE_BEGIN), readme.find(pages.HEADLINE_END)
    assert 0 <= start < end, "README.md lacks the generated headline block"
    block = readme[start:end + len(pages.HEADLINE_END)] + "\n"
    source = re.search(r"generated from (results/[A-Za-z0-9._-]+) ", block)
    assert source, "the headline block does not name the folder it was generated from"
    assert block == pages.headline(ROOT / source.group(1), ROOT, "docs/results")


def test_functional_pool_text_states_rule_representative_and_measured_spread():
    facts = pages.pool_facts(ROOT)
    text = pages.functional_text(facts)
    for phrase in ("not by graph isomorphism", "`none` edge is zero", "`skip_connect` is the identity",
                   "order-free", "lowest NAS-Bench-201 index"):
        assert phrase in text
    spread = facts["spread"]["cifar10"]
    assert f"median {float(spread['range_median']):.2f} points" in text
    assert f"up to {float(spread['range_max']):.1f}" in text


def test_pool_facts_spread_is_computed_from_the_table(table):
    import importlib.util

    spec = importlib.util.spec_from_file_location("pool_facts", ROOT / "benchmarks" / "pool_facts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from nasbench_rank.spaces import nb201_cell as space

    classes = space.functional_classes()[0][space.ordinals(table.cells)]
    rows = {r["dataset"]: r for r in module.spread_rows(table, classes)}
    committed = pages.pool_facts(ROOT)["spread"]
    for dataset, row in rows.items():
        assert float(committed[dataset]["range_median"]) == pytest.approx(row["range_median"])
        assert float(committed[dataset]["range_max"]) == pytest.approx(row["range_max"])


def test_page_names_every_revision_and_says_when_one_is_dirty(tmp_path):
    folder = tmp_path / "results" / "demo"
    board = folder / "leaderboard"
    board.mkdir(parents=True)
    (board / "leaderboard.md").write_text("# Leaderboard\n\n## Predictor quality\n\n| a |\n|---|\n| 1 |\n")
    (board / "eval_rows.csv").write_text(
        "space,pool,pool_about,metric,score_metric,source_revision,table_sha256\n"
        "nb201,full,every element,test,test,abc,ff00\n"
        "nb201,full,every element,test,test,abc+dirty,ff00\n")
    (board / "cells.csv").write_text("config,kind,label,asked,finished,failed\nx,eval,x,2,2,0\n")
    (folder / "runs").mkdir()
    (folder / "runs" / "1.json").write_text(json.dumps(
        {"spec": "benchmarks/demo.toml", "spec_name": "demo", "spec_text": 'name = "demo"\ndescription = "a demo"\n'}))
    text = pages.result_page(folder, tmp_path)
    assert "`abc`, `abc+dirty` (1 from a tree with uncommitted changes)" in text
    assert "nasbench-rank bench benchmarks/demo.toml --out results/tmp/demo\n" in text  # scratch: nothing tracked
    assert "`nasbench-rank bench benchmarks/demo.toml --out results/demo`" in text
    assert "2 of 2 cells finished, 0 failed" in text
    assert "\n## Leaderboard\n" in text and "\n### Predictor quality\n" in text and "\n# Leaderboard" not in text


def test_headline_block_replacement_needs_both_markers():
    block = f"{pages.HEADLINE_BEGIN}\nnew\n{pages.HEADLINE_END}\n"
    text = f"intro\n{pages.HEADLINE_BEGIN}\nold\n{pages.HEADLINE_END}\nrest\n"
    assert pages.replace_block(text, block) == f"intro\n{pages.HEADLINE_BEGIN}\nnew\n{pages.HEADLINE_END}\nrest\n"
    with pytest.raises(UserError, match="no '<!-- BEGIN generated: headline -->'"):
        pages.replace_block("no markers here\n", block)


def test_page_of_a_folder_without_leaderboard_is_refused(tmp_path):
    with pytest.raises(UserError, match="no leaderboard"):
        pages.result_page(tmp_path, tmp_path)


def test_pools_page_is_what_the_generator_writes_from_the_pool_facts():
    page = ROOT / pages.POOLS_PAGE
    assert page.read_text(encoding="utf-8") == pages.pools_page(ROOT), \
        "docs/concepts/pools.md differs from its generator; rerun 'python benchmarks/pool_facts.py'"


def test_zero_shot_matrix_has_a_row_per_source_and_a_column_per_target():
    board = [{"predictor": "xgb", "variant": "", "n_train": "900", "source": s, "target": t, "measure": "kendall",
              "median": str(v), "n": "5"}
             for s, t, v in (("a", "a", 0.9), ("a", "b", 0.5), ("b", "a", 0.4), ("b", "b", 0.8), ("c", "c", 0.7))]
    lines = pages.zero_shot_matrices(board)
    table = [line for line in lines if line.startswith("| ")]
    assert table == ["| fitted on / ranks | a | b |", "| a | 0.900 | 0.500 |", "| b | 0.400 | 0.800 |"]
    assert pages.zero_shot_matrices(board[-1:]) == []


def test_headline_shows_every_training_size_in_its_own_column(tmp_path):
    board = tmp_path / "results" / "lc" / "leaderboard"
    board.mkdir(parents=True)
    head = "predictor,variant,pool,metric,source,target,n_train,n_test,measure,n,median,median_boot95_low,median_boot95_high\n"
    (board / "leaderboard_eval.csv").write_text(head + "xgb,,functional,valid,cifar10,cifar10,100,4830,kendall,5,0.5,0.4,0.6\n"
                                                       "xgb,,functional,valid,cifar10,cifar10,900,4030,kendall,5,0.7,0.6,0.8\n")
    text = pages.headline(board.parent, tmp_path)
    assert "| predictor | CIFAR-10, 100 cells | CIFAR-10, 900 cells |" in text
    assert "| xgb | 0.500 [0.400, 0.600] | 0.700 [0.600, 0.800] |" in text
    assert "[docs/results/lc.md](docs/results/lc.md)" in text


def test_protocol_text_says_what_each_named_protocol_measures():
    rows = [{"space": "nb201", "pool": "full", "pool_about": "every element of nb201 (15,625)", "metric": "valid",
             "score_metric": "test", "protocol": "pinat", "n_train": n, "n_test": "15625"} for n in ("78", "1563")]
    rows += [{"space": "nb201", "pool": "full", "pool_about": "every element of nb201 (15,625)", "metric": "valid",
              "score_metric": "valid", "protocol": "naslib", "n_train": "100", "n_test": "200"}]
    text = "\n".join(pages.protocol_lines(rows, [], {}))
    pinat = next(line for line in text.splitlines() if line.startswith("**Protocol `pinat`**"))
    assert "test accuracy of all 15,625 cells" in pinat and "training cells included" in pinat and "LEAKY" in pinat
    naslib = next(line for line in text.splitlines() if line.startswith("**Protocol `naslib`**"))
    assert "200 held-out cells" in naslib and "LEAKY" in naslib
    assert "trained on `valid`, scored on `test`" in text and "every cell of the pool, training cells included" in text


def test_protocol_text_of_rows_without_a_named_protocol_names_none():
    rows = [{"space": "nb201", "pool": "functional", "metric": "valid", "score_metric": "valid", "protocol": "",
             "n_train": "100", "n_test": "4830"}]
    text = "\n".join(pages.protocol_lines(rows, [], {}))
    assert "**Protocol" not in text and "training cells included" not in text
