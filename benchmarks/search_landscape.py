"""Why local search finds some optima and not others: the basins of steepest ascent over 1-edge moves.

For each dataset's validation accuracy, every cell climbs to its best neighbour until none is better;
the share of cells whose climb ends at the global optimum is how often a local search started at
random lands there. Prints one line per dataset and writes results/search_landscape.csv.

    python benchmarks/search_landscape.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_rank import __version__
from nasbench_rank.tables import nb201 as bench
from nasbench_rank.spaces import nb201_cell as space

RESULTS = Path(__file__).resolve().parents[1] / "results"


def neighbour_ordinals() -> np.ndarray:
    """(15625, 24): ordinals of the 1-edge mutations of each cell, in ordinal order."""
    cells = space.all_cells()
    return np.array([[space.to_ordinal(m) for m in space.mutations(c)] for c in cells])


def basins(values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """The local optimum (ordinal) each cell's steepest ascent ends at."""
    best = neighbours[np.arange(len(values)), np.argmax(values[neighbours], axis=1)]
    step = np.where(values[best] > values, best, np.arange(len(values)))
    end = np.arange(len(values))
    while not np.array_equal(step[end], end):
        end = step[end]
    return end


def main() -> None:
    table = bench.load()
    by_ordinal = table.indices_of(space.all_cells())
    neighbours = neighbour_ordinals()
    rows = []
    for dataset in bench.DATASETS:
        values = table.accuracy(dataset, "valid")[by_ordinal]
        end = basins(values, neighbours)
        optimum = int(np.argmax(values))
        optima, counts = np.unique(end, return_counts=True)
        rows.append({"dataset": dataset, "metric": "valid", "local_optima": len(optima),
                     "global_basin_share": float(np.mean(end == optimum)),
                     "largest_basin_share": float(counts.max() / len(end)), "version": __version__})
        print(f"{dataset}: {len(optima)} local optima; the global optimum's basin holds "
              f"{100 * rows[-1]['global_basin_share']:.1f}% of cells (largest basin {100 * rows[-1]['largest_basin_share']:.1f}%)")
    fd, tmp = tempfile.mkstemp(prefix=".search_landscape.", suffix=".tmp", dir=RESULTS)
    os.close(fd)
    pd.DataFrame(rows).to_csv(tmp, index=False)
    os.replace(tmp, RESULTS / "search_landscape.csv")


if __name__ == "__main__":
    main()
