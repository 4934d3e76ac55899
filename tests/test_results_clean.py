"""One clean revision per result: the revision of the code a result comes from, and `bench` refusing to
write results from a tree with uncommitted changes unless told it is scratch (`--allow-dirty`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nasbench_rank import __version__
from nasbench_rank.provenance import DIRTY, revision_of


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.org")
    _git(root, "config", "user.name", "t")
    (root / "code.py").write_text("x = 1\n")
    _git(root, "add", "code.py")
    _git(root, "commit", "-qm", "first")
    return root


def test_revision_of_a_clean_checkout_is_its_commit(repo: Path):
    assert revision_of(repo) == _git(repo, "rev-parse", "HEAD")


def test_revision_of_a_checkout_with_a_changed_tracked_file_says_dirty(repo: Path):
    (repo / "code.py").write_text("x = 2\n")
    assert revision_of(repo) == _git(repo, "rev-parse", "HEAD") + DIRTY


def test_untracked_files_such_as_new_results_leave_the_revision_clean(repo: Path):
    (repo / "results").mkdir()
    (repo / "results" / "cell.json").write_text("{}")
    assert not revision_of(repo).endswith(DIRTY)


def test_revision_of_an_installed_package_without_git_is_its_version(tmp_path: Path):
    assert revision_of(tmp_path) == __version__


def test_writing_into_the_checkout_from_a_dirty_tree_is_refused_in_one_line(tmp_path: Path):
    from nasbench_rank.errors import UserError
    from nasbench_rank.grid.revision import check_clean

    with pytest.raises(UserError) as refused:
        check_clean(tmp_path / "results" / "x", revision="abc" + DIRTY, root=tmp_path)
    message = str(refused.value)
    assert "\n" not in message and "uncommitted changes" in message and "--allow-dirty" in message


def test_allow_dirty_or_a_folder_outside_the_checkout_writes_with_a_note(tmp_path: Path):
    from nasbench_rank.grid.revision import check_clean

    inside = tmp_path / "checkout" / "results" / "tmp" / "x"
    note = check_clean(inside, allow_dirty=True, revision="abc" + DIRTY, root=tmp_path / "checkout")
    assert "abc+dirty" in note and "dirty = true" in note
    assert check_clean(tmp_path / "elsewhere", revision="abc" + DIRTY, root=tmp_path / "checkout")


def test_a_clean_tree_writes_anywhere_without_a_note(tmp_path: Path):
    from nasbench_rank.grid.revision import check_clean

    assert check_clean(tmp_path / "results" / "x", revision="abc", root=tmp_path) is None
    assert check_clean(tmp_path / "results" / "x", revision=__version__, root=tmp_path) is None


SPEC = 'name = "g"\n[[search]]\nsearches = ["random"]\nbudget = 5\nseeds = 1\n'


@pytest.fixture
def dirty_checkout(tmp_path: Path, monkeypatch) -> Path:
    """The package seen as running from a checkout at tmp_path/checkout with uncommitted changes."""
    from nasbench_rank import provenance
    from nasbench_rank.grid import revision

    root = tmp_path / "checkout"
    root.mkdir()
    versions = {**provenance.code_versions(), "source_revision": "abc" + DIRTY}
    monkeypatch.setattr(provenance, "code_versions", lambda: versions)
    monkeypatch.setattr(revision, "code_versions", lambda: versions)
    monkeypatch.setattr(revision, "checkout_root", lambda: root)
    return root


def _bench(*args: str) -> int:
    from nasbench_rank.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["bench", *args])
    return stop.value.code


def test_bench_refuses_a_results_folder_of_a_dirty_checkout_before_any_work(dirty_checkout, capsys):
    spec = dirty_checkout / "g.toml"
    spec.write_text(SPEC)
    out = dirty_checkout / "results" / "g"
    assert _bench(str(spec), "--out", str(out), "--workers", "1", "--no-progress") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "uncommitted changes" in err and "--allow-dirty" in err
    assert not out.exists()


def test_bench_allow_dirty_writes_rows_that_say_dirty(dirty_checkout, capsys):
    from nasbench_rank.grid.store import load_records

    spec = dirty_checkout / "g.toml"
    spec.write_text(SPEC)
    out = dirty_checkout / "results" / "tmp" / "g"
    assert _bench(str(spec), "--out", str(out), "--workers", "1", "--no-progress", "--allow-dirty") == 0
    assert "note: the source tree has uncommitted changes" in capsys.readouterr().err
    rows = [row for r in load_records(out) for row in r["rows"]]
    assert rows and all(row["dirty"] is True and row["source_revision"] == "abc" + DIRTY for row in rows)


def test_bench_dry_run_of_a_dirty_checkout_is_allowed(dirty_checkout, capsys):
    spec = dirty_checkout / "g.toml"
    spec.write_text(SPEC)
    assert _bench(str(spec), "--out", str(dirty_checkout / "results" / "g"), "--dry-run") == 0
    assert "1 cells (0 eval, 1 search), 0 already finished" in capsys.readouterr().out


def test_tied_optima_are_broken_by_index_and_counted():
    """NAS-Bench-Graph cora has two architectures tied for the best validation accuracy with different
    test accuracies: the row names the lower-index tie's test value and says there were two."""
    pytest.importorskip("nas_bench_graph")
    from nasbench_rank.loop.runs import run_search
    from nasbench_rank.quality.protocol import load_benchmark

    bm = load_benchmark("nbgraph")
    opt = bm.optimum("cora", "valid")
    assert len(opt.ties) == 2
    row, _ = run_search(None, "random", dataset="cora", budget=3, space="nbgraph", seed=0)
    assert row["optimum_ties"] == 2
    assert row["optimum_test"] == pytest.approx(float(bm.values("cora", "test")[min(opt.ties)]))
