"""Search spaces and their benchmarks, as plugins (hook ``register_spaces``).

    from nasbench_rank import spaces
    bm = spaces.load("nbgraph")            # a Benchmark; its data loads per dataset, on first use
    bm.space.sample(rng, 10)               # elements of the space
    bm.values("cora", "valid")             # one value per ordinal
    spaces.find_dataset("cora")            # -> "nbgraph": the space a dataset name belongs to

Built-ins: `nb201` (NAS-Bench-201, the table shipped in the package), `nbgraph` (the `graph`
extra), `fcnet` (the `hpo` extra). See `base` for the interfaces.
"""

from __future__ import annotations

from .base import (Benchmark, Element, ExtraMissing, Fidelity, Metric, Optimum, ParseError, Space)

__all__ = ["Benchmark", "Element", "ExtraMissing", "Fidelity", "Metric", "Optimum", "ParseError", "Space",
           "load", "names", "find_dataset"]


def names() -> list[str]:
    """Names of the registered spaces."""
    from ..plugins import get_plugins

    return get_plugins().spaces.names()


def load(name: str, **kwargs) -> Benchmark:
    """The benchmark of a registered space (a one-line UserError for an unknown name or a missing extra)."""
    from ..errors import UserError
    from ..plugins import get_plugins

    benchmark = get_plugins().spaces.create(name, **kwargs)
    if not isinstance(benchmark, Benchmark):
        raise UserError(f"space {name!r} did not build a Benchmark (got {type(benchmark).__name__})")
    return benchmark


def find_dataset(dataset: str) -> str:
    """The one space whose benchmark has `dataset` (aliases included); UserError when none or several
    do. Spaces whose extra is missing are skipped, and named when no space matches."""
    from ..errors import UserError

    found, missing = [], []
    for name in names():
        try:
            bm = load(name)
        except ExtraMissing as exc:
            missing.append(f"{name} ({exc})")
            continue
        try:
            bm.canonical_dataset(dataset)
        except UserError:
            continue
        found.append(name)
    if len(found) == 1:
        return found[0]
    if found:
        raise UserError(f"dataset {dataset!r} is in several spaces ({', '.join(found)}); pass --space")
    extra = f"; not installed: {'; '.join(missing)}" if missing else ""
    raise UserError(f"no space has a dataset {dataset!r}{extra}")
