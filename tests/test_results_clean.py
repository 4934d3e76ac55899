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
