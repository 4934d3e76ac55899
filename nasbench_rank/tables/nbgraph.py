"""NAS-Bench-Graph's light tables (the `graph` extra), read with the package's own `light_read`,
keyed by the package's `Arch(link, ops).valid_hash()`, then checked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import DataError
from ..spaces.base import DataChecksum, ExtraMissing

EXTRA = "graph"
DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
#: Architectures with a result in each light table: every equivalence class of the space the
#: dataset covers (9 ops; 5 on proteins).
EXPECTED_CLASSES = {d: 26206 for d in DATASETS} | {"proteins": 2021}


#: sha256 of each light table as shipped in nas-bench-graph 1.4.0.
PUBLISHED_SHA256 = {
    "arxiv": "7ee21a7653297a806c0ed1be3efe6ecc06acc84e48e942da0bfde0e5d287debe",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
    "computers": "fdb3dc0cf405d62322f0ab9614b2083c2a5e6576c2f43e4f2214be64bc62b1b3",
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "cs": "71ae8469930517160b024f52db6000a4897f1aff5d765beb27bb60952ed5bd31",
    "photo": "5511b4dc3f63fa988792177227db7901290fb9b27fc6c02e3036b29e134ed6df",
    "physics": "1e309bafee0b832c8b84fa3c039c36992bc0a910238b128f26b7e9190d7f2aea",
    "proteins": "b9e7fb0902bda44fec32c948e5fde822fb22d38d674c52e43ace5197378f2d21",
    "pubmed": "10b4dcf6cfd3a24f6059f7d541a4a872960b4adac0b3dba26abed1bb9a3d904d",
}


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


@lru_cache(maxsize=9)
def checksum(dataset: str) -> DataChecksum:
    """sha256 of the file `light_read(dataset)` reads (hashed as bytes, never unpickled here)."""
    from pathlib import Path

    path = Path(require().__file__).resolve().parent / "light" / f"{dataset}.bench"
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return DataChecksum(digest, digest == PUBLISHED_SHA256.get(dataset))


def valid_hash(link: list[int], ops: list[str]) -> int:
    """The package's hash of an architecture: equal for architectures it treats as equivalent."""
    return int(require().Arch(list(link), list(ops)).valid_hash())
