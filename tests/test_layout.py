"""The package tree: each layer in its folder, and the old module names working for one release."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import nasbench_rank

PACKAGE = Path(nasbench_rank.__file__).resolve().parent
OLD_TO_NEW = {
    "nasbench_rank.bench": "nasbench_rank.tables.nb201",
    "nasbench_rank.importer": "nasbench_rank.tables.nb201_import",
    "nasbench_rank.space": "nasbench_rank.spaces.nb201_cell",
    "nasbench_rank.features": "nasbench_rank.predictors.features",
    "nasbench_rank.losses": "nasbench_rank.predictors.losses",
    "nasbench_rank.persist": "nasbench_rank.predictors.persist",
    "nasbench_rank.fit_cache": "nasbench_rank.predictors.fit_cache",
    "nasbench_rank.search": "nasbench_rank.loop.runs",
    "nasbench_rank.spec": "nasbench_rank.grid.spec",
    "nasbench_rank.harness": "nasbench_rank.grid.harness",
    "nasbench_rank.evaluation": "nasbench_rank.quality.protocol",
    "nasbench_rank.searches": "nasbench_rank.strategies",
    "nasbench_rank.searches.topk": "nasbench_rank.strategies.topk",
    "nasbench_rank.commands": "nasbench_rank.cli",
    "nasbench_rank.commands.run": "nasbench_rank.cli.run",
    "nasbench_rank.builtin.searches": "nasbench_rank.builtin.strategies",
}


def test_top_level_holds_only_the_shared_helpers_and_the_layer_folders():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__", "__main__", "atomic", "errors", "hookspecs", "plugins", "provenance", "seeding",
                       "testing"]  # testing: the plugin authors' test kit, public API
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == ["builtin", "cli", "grid", "loop", "predictors", "quality", "report", "spaces", "strategies",
                       "tables"]


@pytest.mark.parametrize("old,new", sorted(OLD_TO_NEW.items()))
def test_an_old_module_name_gives_the_new_module_with_a_deprecation_warning(old, new, monkeypatch):
    parent, _, leaf = old.rpartition(".")
    monkeypatch.delitem(sys.modules, old, raising=False)
    monkeypatch.delattr(importlib.import_module(parent), leaf, raising=False)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__spec__.name == new and module.__name__ == new  # the module itself is left as it was


def test_an_old_name_imported_with_from_keeps_working(monkeypatch):
    monkeypatch.delitem(sys.modules, "nasbench_rank.bench", raising=False)
    monkeypatch.delattr(nasbench_rank, "bench", raising=False)
    with pytest.warns(DeprecationWarning):
        from nasbench_rank import bench
    from nasbench_rank.tables import nb201

    assert bench.load is nb201.load


def test_importing_the_package_loads_no_layer():
    code = "import sys, nasbench_rank; print(sorted(m for m in sys.modules if m.startswith('nasbench_rank.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _imports(path: Path) -> set[str]:
    """Absolute names of the nasbench_rank modules a source file imports (relative imports resolved)."""
    import ast

    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = module.removesuffix(".__init__") if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("nasbench_rank")}


def test_the_report_reads_records_through_the_grid_store_only():
    grid_imports = {name for f in (PACKAGE / "report").glob("*.py") for name in _imports(f)
                    if name.startswith("nasbench_rank.grid")}
    assert grid_imports and all(name.startswith("nasbench_rank.grid.store") or name == "nasbench_rank.grid"
                                for name in grid_imports), grid_imports


def test_proxies_are_handed_benchmark_results_and_never_import_a_table():
    names = _imports(PACKAGE / "predictors" / "proxies.py")
    assert not any(n.startswith("nasbench_rank.tables") for n in names), names
    assert "nasbench_rank.spaces.load" not in names


def test_acc12_built_by_hand_without_results_refuses_in_one_line():
    from nasbench_rank.errors import UserError
    from nasbench_rank.predictors.proxies import Acc12Proxy

    with pytest.raises(UserError, match="handed to it"):
        Acc12Proxy().fit([(0, 0, 0, 0, 0, 0)])
