"""nasbench-rank: which architecture-performance predictor and which search strategy to trust."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("nasbench-rank")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

# Modules that moved into their layer's folder keep their old names for one release: importing an old
# name gives the new module and a DeprecationWarning. Nothing is imported until an old name is used.
_MOVED = {
    "bench": "tables.nb201",
    "importer": "tables.nb201_import",
    "space": "spaces.nb201_cell",
    "features": "predictors.features",
    "losses": "predictors.losses",
    "persist": "predictors.persist",
    "fit_cache": "predictors.fit_cache",
    "search": "loop.runs",
    "spec": "grid.spec",
    "harness": "grid.harness",
    "evaluation": "quality.protocol",
    "searches": "strategies",
    "commands": "cli",
    "builtin.searches": "builtin.strategies",
}


def _moved_to(fullname: str) -> str | None:
    rest = fullname[len(__name__) + 1:] if fullname.startswith(__name__ + ".") else None
    if rest is None:
        return None
    if rest in _MOVED:
        return f"{__name__}.{_MOVED[rest]}"
    for old, new in (("searches.", "strategies."), ("commands.", "cli.")):
        if rest.startswith(old):
            return f"{__name__}.{new}{rest[len(old):]}"
    return None


class _MovedModuleFinder:
    """Resolves a moved module's old name to its new module (see `_MOVED`)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        new = _moved_to(fullname)
        if new is None:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, _MovedModuleLoader(new))


class _MovedModuleLoader:
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec):
        import importlib
        import warnings

        warnings.warn(f"{spec.name} moved to {self.new}; the old name goes in the next release",
                      DeprecationWarning, stacklevel=3)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import system set the old name's spec on the module: undo it


def _install_finder() -> None:
    import sys

    if not any(isinstance(f, type) and f.__name__ == "_MovedModuleFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder)


_install_finder()
