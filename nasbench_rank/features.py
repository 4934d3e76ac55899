"""Fixed-length encodings of cells for tabular predictors (the sequence models use `space.tokens`)."""

from __future__ import annotations

import numpy as np

from . import space

# The input->output paths of the cell: edge sequences whose ops form the path's signature.
PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))  # 0->3, 0->1->3, 0->2->3, 0->1->2->3


def op_counts(cells) -> np.ndarray:
    """(n, 5) how many edges carry each op."""
    arr = space.as_array(cells)
    return np.stack([(arr == op).sum(axis=1) for op in range(space.N_OPS)], axis=1).astype(np.float32)


def path_encoding(cells) -> np.ndarray:
    """(n, 5 + 25 + 125 + ...) one-hot of the op sequence on each of the four input->output paths,
    summed over paths of equal length: which op chains connect input to output."""
    arr = space.as_array(cells)
    blocks = []
    for length in (1, 2, 3):
        block = np.zeros((len(arr), space.N_OPS**length), dtype=np.float32)
        for path in (p for p in PATHS if len(p) == length):
            code = np.zeros(len(arr), dtype=np.int64)
            for edge in path:
                code = code * space.N_OPS + arr[:, edge]
            np.add.at(block, (np.arange(len(arr)), code), 1.0)
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def tabular(cells, paths: bool = False) -> np.ndarray:
    """One-hot (30) + op counts (5), optionally + path encoding."""
    parts = [space.one_hot(cells), op_counts(cells)]
    if paths:
        parts.append(path_encoding(cells))
    return np.concatenate(parts, axis=1)
