"""NAS-Bench-Graph's light tables (the `graph` extra), read with the package's own `light_read`,
keyed by the package's `Arch(link, ops).valid_hash()`, then checked."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import DataError
from ..spaces.base import ExtraMissing

EXTRA = "graph"
DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
#: Architectures with a result in each light table: every equivalence class of the space the
#: dataset covers (9 ops; 5 on proteins).
EXPECTED_CLASSES = {d: 26206 for d in DATASETS} | {"proteins": 2021}


def require():
    try:
        import nas_bench_graph
    except ImportError:
        raise ExtraMissing("nbgraph", EXTRA, "nas-bench-graph") from None
    return nas_bench_graph


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("nas-bench-graph")
    except metadata.PackageNotFoundError:
        return "?"


@dataclass(frozen=True)
class GraphTable:
    """One dataset's light table as arrays indexed by the package's hash."""

    dataset: str
    hashes: np.ndarray  # (n,) int64, sorted
    valid: np.ndarray
    test: np.ndarray
    latency: np.ndarray  # seconds
    params: np.ndarray  # millions

    def rows(self, hashes: np.ndarray) -> np.ndarray:
        """Row of each hash; DataError when one has no result."""
        pos = np.searchsorted(self.hashes, hashes)
        pos = np.clip(pos, 0, len(self.hashes) - 1)
        if not np.array_equal(self.hashes[pos], hashes):
            raise DataError(f"NAS-Bench-Graph {self.dataset}: {int(np.sum(self.hashes[pos] != hashes))} architectures have no result")
        return pos


@lru_cache(maxsize=9)
def graph_table(dataset: str) -> GraphTable:
    pkg = require()
    if dataset not in DATASETS:
        raise DataError(f"unknown NAS-Bench-Graph dataset {dataset!r}")
    data = pkg.light_read(dataset)
    if not isinstance(data, dict) or len(data) != EXPECTED_CLASSES[dataset]:
        got = len(data) if isinstance(data, dict) else type(data).__name__
        raise DataError(f"NAS-Bench-Graph {dataset}: expected {EXPECTED_CLASSES[dataset]} architectures, got {got}")
    hashes = np.asarray(sorted(data), dtype=np.int64)

    def column(field: str) -> np.ndarray:
        try:
            arr = np.asarray([float(data[h][field]) for h in hashes.tolist()], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError(f"NAS-Bench-Graph {dataset}: field {field!r} missing or not a number") from None
        if not np.all(np.isfinite(arr)):
            raise DataError(f"NAS-Bench-Graph {dataset}: {field} has non-finite values")
        return arr

    valid, test, latency, params = column("valid_perf"), column("perf"), column("latency"), column("para")
    for name, arr in (("valid_perf", valid), ("perf", test)):
        if arr.min() < 0 or arr.max() > 1:
            raise DataError(f"NAS-Bench-Graph {dataset}: {name} outside 0..1 ({arr.min()}..{arr.max()})")
    if latency.min() <= 0 or params.min() <= 0:
        raise DataError(f"NAS-Bench-Graph {dataset}: latency and parameter counts must be positive")
    return GraphTable(dataset, hashes, valid, test, latency, params)


def valid_hash(link: list[int], ops: list[str]) -> int:
    """The package's hash of an architecture: equal for architectures it treats as equivalent."""
    return int(require().Arch(list(link), list(ops)).valid_hash())
