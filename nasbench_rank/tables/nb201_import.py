"""Convert the official NAS-Bench-201 benchmark file into this project's table, through the official
`nas-bench-201` package (``pip install 'nasbench-rank[official]'``).

Column meanings follow ../shared/data/nb201/README.md: 200-epoch results average the seeds run;
CIFAR-10 validation is the `cifar10-valid` run's x-valid split and its test the `cifar10` run's
ori-test; CIFAR-100 and ImageNet16-120 use x-valid and x-test. The official file carries no
`unique_id`: it is taken from a reference table by architecture string when one is given, otherwise
computed from `space.functional_key` (coarser than the benchmark's own, and said so on stderr).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pandas as pd

from .. import atomic
from . import nb201 as bench
from ..spaces import nb201_cell as space
from ..errors import DataError, UserError

# our dataset -> (official dataset for valid, set, official dataset for test, set)
_SPLITS = {
    "cifar10": ("cifar10-valid", "x-valid", "cifar10", "ori-test"),
    "cifar100": ("cifar100", "x-valid", "cifar100", "x-test"),
    "imagenet16": ("ImageNet16-120", "x-valid", "ImageNet16-120", "x-test"),
}


def _api(source: str | os.PathLike | dict):
    try:
        from nas_201_api import NASBench201API
    except ImportError:
        raise UserError("importing the official file needs the nas-bench-201 package: pip install 'nasbench-rank[official]'") from None
    try:
        return NASBench201API(source if isinstance(source, dict) else str(source), verbose=False)
    except Exception as exc:  # the official loader asserts on bad files
        raise DataError(f"not a NAS-Bench-201 benchmark file: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def _row(index: int, arch: str, results: dict[str, Any]) -> dict[str, Any]:
    full, less = results["200"], results["12"]
    row: dict[str, Any] = {"index": index, "arch": arch}
    for name, (valid_ds, valid_set, test_ds, test_set) in _SPLITS.items():
        row[f"{name}_valid"] = full.get_metrics(valid_ds, valid_set)["accuracy"]
        row[f"{name}_test"] = full.get_metrics(test_ds, test_set)["accuracy"]
        row[f"{name}_valid_12ep"] = less.get_metrics(valid_ds, valid_set)["accuracy"]
        row[f"{name}_test_12ep"] = less.get_metrics(test_ds, test_set)["accuracy"]
        costs = full.get_compute_costs(test_ds)
        row[f"{name}_train_seconds"] = costs.get("T-train@total")
        row[f"{name}_params_m"] = costs["params"]
        row[f"{name}_seeds"] = len(full.get_dataset_seeds(test_ds))
    return row


def convert(source: str | os.PathLike | dict, reference: bench.Table | None = None) -> pd.DataFrame:
    """The table as a DataFrame in the official index order (columns as `bench.COLUMNS`)."""
    api = _api(source)
    rows = []
    for index, arch in enumerate(api.meta_archs):
        try:
            space.parse(arch)
            rows.append(_row(index, arch, api.arch2infos_dict[index]))
        except (KeyError, ValueError, AssertionError) as exc:
            raise DataError(f"architecture {index} ({arch}) in the official file is incomplete: {type(exc).__name__}: {exc}") from None
    df = pd.DataFrame(rows)
    if reference is not None:
        ids = dict(zip(reference.df["arch"], reference.df["unique_id"]))
        df["unique_id"] = [ids.get(a, -1) for a in df["arch"]]
        if (df["unique_id"] < 0).any():
            raise DataError("the reference table lacks some architectures of the official file")
        # renumber in first-occurrence order so that a subset still counts 0..n-1
        df["unique_id"] = pd.factorize(df["unique_id"])[0]
    else:
        print("note: no reference table; unique_id computed from the functional form of each cell "
              "(coarser than the benchmark's)", file=sys.stderr)
        df["unique_id"] = pd.factorize(pd.Series([space.functional_key(space.parse(a)) for a in df["arch"]]))[0]
    return df[list(bench.COLUMNS)]


def write_atomic(df: pd.DataFrame, output: str | os.PathLike) -> None:
    atomic.write_with(output, lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))


def import_official(source: str | os.PathLike | dict, output: str | os.PathLike, reference: bench.Table | None = None) -> int:
    """Convert and write atomically; returns the row count. A file with fewer than all 15,625 cells is
    written but said to be partial (the loader refuses it)."""
    df = convert(source, reference)
    write_atomic(df, output)
    if len(df) != space.N_CELLS:
        print(f"note: the official file held {len(df)} of {space.N_CELLS} architectures; the loader will refuse this partial table",
              file=sys.stderr)
    return len(df)
