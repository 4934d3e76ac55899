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

from functools import lru_cache

from .base import (Benchmark, Element, ExtraMissing, Fidelity, Metric, Optimum, ParseError, Space)

__all__ = ["Benchmark", "Element", "ExtraMissing", "Fidelity", "Metric", "Optimum", "ParseError", "Space",
           "load", "names", "find_dataset", "default_space", "resolve_space", "give_space", "give_benchmark",
           "runs_on"]


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


@lru_cache(maxsize=1)
def default_space() -> Space:
    """The NAS-Bench-201 cell space: what a predictor given no space works on (one object per process)."""
    from .nb201 import NB201Space

    return NB201Space()


def resolve_space(space: "Space | str | None") -> Space:
    """A predictor's `space` setting as a Space: None is NAS-Bench-201, a string names a registered
    space (its benchmark's whole space), a Space is itself."""
    if space is None:
        return default_space()
    if isinstance(space, Space):
        return space
    if isinstance(space, str):
        return default_space() if space == "nb201" else load(space).space
    from ..errors import UserError

    raise UserError(f"space must be a space name or a Space, got {type(space).__name__}")


def give_space(model, space: Space, plugin: str, explicit=()) -> None:
    """Hand `space` to a predictor built for a search or an evaluation: ``set_params(space=...)`` when
    its `get_params()` has `space` (unless the user set it), its `space` attribute when it is not a
    scikit-learn estimator but has one. A predictor that takes no space runs on NAS-Bench-201 only:
    asking it for another space is a one-line UserError naming the plugin."""
    from ..errors import UserError

    get_params = getattr(model, "get_params", None)
    if "space" in set(explicit):
        return
    if callable(get_params) and "space" in get_params(deep=False):
        model.set_params(space=space)
        return
    if not callable(get_params) and hasattr(model, "space"):
        model.space = space
        return
    if space.name != "nb201":
        raise UserError(f"predictor {plugin!r} takes no 'space' setting, so it runs on nb201 only, "
                        f"not on {space.name!r}")


def give_benchmark(model, benchmark: Benchmark, explicit=()) -> None:
    """Hand a benchmark's results to a predictor that reads them (a proxy: ``set_params(benchmark=...)``
    when its `get_params()` has `benchmark`, unless the user set it). Nothing else is handed a
    benchmark: a predictor learns from its training cells and labels only."""
    get_params = getattr(model, "get_params", None)
    if "benchmark" in set(explicit) or not callable(get_params):
        return
    if "benchmark" in get_params(deep=False):
        model.set_params(benchmark=benchmark)


def runs_on(predictors, space: Space) -> tuple[tuple[str, ...], list[str]]:
    """(the registered predictors among `predictors` that take `space`, a one-line reason for each
    that does not): what benchmark scripts run on a space, and what they say they left out."""
    from ..errors import UserError
    from ..plugins import get_plugins

    keep, refused = [], []
    for name in predictors:
        try:
            give_space(get_plugins().predictors.create(name), space, name)
        except UserError as exc:
            refused.append(f"skipping {name}: {exc}")
            continue
        keep.append(name)
    return tuple(keep), refused
