"""The NAS-Bench-201 table: found, loaded once, validated, and queried.

Accuracies are stored as the table has them, in percent; `accuracy(..., fraction=True)` gives the
fractions predictors train on.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..spaces import nb201_cell as space
from ..spaces.nb201_cell import DATASETS, canonical_dataset
from ..errors import DataError, UserError

#: sha256 of the published table (../shared/data/nb201/README.md).
BUNDLED_SHA256 = "d548cf877e2089975aebbd5c6690b728da65193166e972755cb7691dd1f953f6"
DATA_ENV = "NASBENCH_RANK_DATA"
TABLE_NAME = "nb201.csv"
PACKAGED_NAME = "nb201.csv.gz"

METRICS: tuple[str, ...] = ("valid", "test")
EPOCHS: tuple[int, ...] = (200, 12)
PER_DATASET_COLUMNS = ("valid", "test", "valid_12ep", "test_12ep", "train_seconds", "params_m", "seeds")
COLUMNS: tuple[str, ...] = ("index", "arch", "unique_id") + tuple(
    f"{d}_{c}" for d in DATASETS for c in PER_DATASET_COLUMNS
)


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    return metric


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nasbench-rank"


def packaged_table_path() -> Path:
    """The published table shipped inside the package (gzip-compressed CSV)."""
    return Path(__file__).resolve().parent.parent / "data" / PACKAGED_NAME


def candidate_paths(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the table is looked for, in order, each with the reason it is looked at. `--data` and
    the environment variable, when given, are the only candidate (a wrong one is an error, never
    skipped); otherwise the user data directory, then the table shipped in the package."""
    if explicit:
        return [("--data", Path(explicit))]
    if os.environ.get(DATA_ENV):
        return [(DATA_ENV, Path(os.environ[DATA_ENV]))]
    return [("user data directory", user_data_dir() / TABLE_NAME), ("packaged table", packaged_table_path())]


def locate(explicit: str | os.PathLike | None = None) -> Path:
    tried = candidate_paths(explicit)
    for why, path in tried:
        if why in ("--data", DATA_ENV):  # named by the user: it must be there
            if path.is_dir():
                raise DataError(f"{why} {path} is a directory; name the table file (e.g. {path / TABLE_NAME})")
            if not path.is_file():
                raise DataError(f"{why} {path} does not exist; unset it to use the table shipped in the package")
            return path.resolve()
        if path.is_file():
            return path.resolve()
    where = "; ".join(f"{why}: {path}" for why, path in tried)
    raise DataError(
        f"NAS-Bench-201 table not found (looked at {where}). Pass --data PATH, set {DATA_ENV}, or build one "
        f"from the official file with 'nasbench-rank data import NAS-Bench-201-v1_1-096897.pth -o nb201.csv'"
    )


def read_bytes(path: Path) -> bytes:
    """The table's CSV bytes, decompressed when the file is gzip (by its magic number)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"cannot read table {path}: not a valid gzip file ({exc})") from None
    return raw


def sha256_of(path: Path) -> str:
    """sha256 of a file's bytes as stored (`Table.sha256` is that of the uncompressed CSV)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_frame(df: pd.DataFrame) -> None:
    """Raise DataError saying what differs from the table format; return quietly when it passes."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"table is missing columns: {', '.join(missing)}")
    if len(df) != space.N_CELLS:
        raise DataError(f"table has {len(df)} rows, expected {space.N_CELLS} (truncated or padded?)")
    if df[list(COLUMNS)].isna().any().any():
        bad = [c for c in COLUMNS if df[c].isna().any()]
        raise DataError(f"table has empty values in: {', '.join(bad)}")
    numeric = [c for c in COLUMNS if c != "arch"]
    non_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise DataError(f"table has non-numeric values in: {', '.join(non_numeric)}")
    if not np.array_equal(df["index"].to_numpy(), np.arange(space.N_CELLS)):
        raise DataError("table column 'index' is not 0..15624 in order")
    for d in DATASETS:
        for c in ("valid", "test", "valid_12ep", "test_12ep"):
            col = df[f"{d}_{c}"]
            if col.min() < 0 or col.max() > 100:
                raise DataError(f"table column {d}_{c} has accuracies outside 0..100 % ({col.min()}..{col.max()})")
        if (df[f"{d}_train_seconds"] <= 0).any():
            raise DataError(f"table column {d}_train_seconds has non-positive training times")
        if (df[f"{d}_seeds"] < 1).any():
            raise DataError(f"table column {d}_seeds has values below 1")
    try:
        cells = [space.parse(a) for a in df["arch"]]
    except ValueError as exc:
        raise DataError(f"table has a malformed architecture: {exc}") from None
    if len(set(cells)) != space.N_CELLS:
        raise DataError("table repeats architectures: every cell must appear exactly once")
    n_unique = df["unique_id"].nunique()
    if df["unique_id"].min() < 0 or df["unique_id"].max() >= n_unique:
        raise DataError("table column unique_id must number its classes 0..n-1")


@dataclass(frozen=True, eq=False)
class Table:
    """The validated table, with cells and lookups precomputed for fast queries."""

    df: pd.DataFrame
    path: Path
    sha256: str
    cells: np.ndarray = field(repr=False)  # (n_cells, 6), row i is the cell of official index i
    _index_of_ordinal: np.ndarray = field(repr=False)

    @property
    def verified(self) -> bool:
        """True when the file is byte-for-byte the published table."""
        return self.sha256 == BUNDLED_SHA256

    def __len__(self) -> int:
        return len(self.df)

    def index_of(self, cell: Sequence[int] | str) -> int:
        """Official index of a cell (tuple of op indices or official string)."""
        if isinstance(cell, str):
            cell = space.parse(cell)
        return int(self._index_of_ordinal[space.to_ordinal(cell)])

    def indices_of(self, cells) -> np.ndarray:
        return self._index_of_ordinal[space.ordinals(cells)]

    def cell_of(self, index: int) -> space.Cell:
        index = int(index)
        if not 0 <= index < space.N_CELLS:
            raise UserError(f"index {index} outside 0..{space.N_CELLS - 1}")
        return tuple(int(v) for v in self.cells[index])

    def column(self, dataset: str, metric: str, epochs: int = 200) -> str:
        dataset = canonical_dataset(dataset)
        check_metric(metric)
        if epochs not in EPOCHS:
            raise UserError(f"epochs must be one of {EPOCHS}, got {epochs}")
        return f"{dataset}_{metric}" + ("" if epochs == 200 else f"_{epochs}ep")

    def accuracy(self, dataset: str, metric: str = "valid", epochs: int = 200, fraction: bool = False) -> np.ndarray:
        """Accuracies of every cell in index order (percent, or fractions in float32)."""
        values = self.df[self.column(dataset, metric, epochs)].to_numpy()
        return (values / 100.0).astype(np.float32) if fraction else values

    def query(self, cell, dataset: str, metric: str = "valid", epochs: int = 200) -> float:
        """Accuracy (percent) of one cell, given as an index, a tuple or an official string."""
        index = cell if isinstance(cell, (int, np.integer)) else self.index_of(cell)
        return float(self.accuracy(dataset, metric, epochs)[int(index)])

    def train_seconds(self, dataset: str) -> np.ndarray:
        return self.df[f"{canonical_dataset(dataset)}_train_seconds"].to_numpy()

    def unique_ids(self) -> np.ndarray:
        return self.df["unique_id"].to_numpy()

    def optimum(self, dataset: str, metric: str = "valid") -> tuple[int, float]:
        """(index, accuracy %) of the best cell; ties go to the lowest index."""
        acc = self.accuracy(dataset, metric)
        best = int(np.argmax(acc))
        return best, float(acc[best])

    def optimum_indices(self, dataset: str, metric: str = "valid") -> np.ndarray:
        """Every index that ties for the best value (CIFAR-10 test has two)."""
        acc = self.accuracy(dataset, metric)
        return np.flatnonzero(acc == acc.max())


def read_table(path: Path) -> Table:
    """Read, validate and checksum a table (CSV, or gzip-compressed CSV: the checksum is always that
    of the uncompressed CSV bytes, so the shipped .csv.gz verifies against the published sha256)."""
    try:
        raw = read_bytes(path)
        if not raw.strip():
            raise DataError(f"table {path} is empty")
        df = pd.read_csv(io.BytesIO(raw))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read table {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    validate_frame(df)
    cells = space.as_array([space.parse(a) for a in df["arch"]])
    index_of_ordinal = np.empty(space.N_CELLS, dtype=np.int64)
    index_of_ordinal[space.ordinals(cells)] = np.arange(space.N_CELLS)
    return Table(df=df, path=path, sha256=hashlib.sha256(raw).hexdigest(), cells=cells, _index_of_ordinal=index_of_ordinal)


@lru_cache(maxsize=4)
def _load_cached(path: Path, mtime_ns: int) -> Table:
    return read_table(path)


def load(explicit: str | os.PathLike | None = None) -> Table:
    """The table from the first place it is found (see `candidate_paths`), loaded once per process."""
    path = locate(explicit)
    return _load_cached(path, path.stat().st_mtime_ns)
