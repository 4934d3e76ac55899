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


def live_paths(cells) -> np.ndarray:
    """(n, 4 + 16 + 64) BANANAS-style path encoding: for each op sequence without `none` of length
    1 to 3, how many input->output paths of the cell carry it. A path through a `none` edge does not
    exist, so dead edges never show here."""
    arr = space.as_array(cells)
    real = space.N_OPS - 1  # ops 1..4
    blocks = []
    for length in (1, 2, 3):
        block = np.zeros((len(arr), real**length), dtype=np.float32)
        for path in (p for p in PATHS if len(p) == length):
            ops = arr[:, list(path)]
            exists = (ops != 0).all(axis=1)
            code = np.zeros(len(arr), dtype=np.int64)
            for k in range(length):
                code = code * real + np.maximum(ops[:, k] - 1, 0)
            np.add.at(block, (np.flatnonzero(exists), code[exists]), 1.0)
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def structural(cells) -> np.ndarray:
    """What ACT is given, as a table: the effective-op view (dead edges shown as `none`), its one-hot,
    op counts and path encoding, plus the live-path encoding."""
    eff = space.effective_ops(cells)
    return np.concatenate([tabular(eff, paths=True), live_paths(eff)], axis=1)


def functional_augment(cells, y, max_copies: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each training cell replaced by up to `max_copies` cells that compute the same function (itself
    first, the rest drawn with `rng`), each carrying its label. Returns (cells, labels, weights); the
    weights of one cell's copies sum to 1, so a large class does not outweigh a small one."""
    arr = space.as_array(cells)
    y = np.asarray(y, dtype=np.float32)
    own = space.ordinals(arr)
    picked, owners = [], []
    for i, (o, copies) in enumerate(zip(own, space.functional_copies(arr))):
        others = copies[copies != o]
        if len(others) > max_copies - 1:
            others = rng.choice(others, size=max_copies - 1, replace=False)
        chosen = np.concatenate([[o], others]).astype(np.int64)
        picked.append(chosen)
        owners.append(np.full(len(chosen), i))
    ords = np.concatenate(picked)
    owner = np.concatenate(owners)
    counts = np.bincount(owner, minlength=len(arr))
    return space.all_cells()[ords], y[owner], (1.0 / counts[owner]).astype(np.float32)


def functional_expand(cells, max_copies: int) -> tuple[np.ndarray, np.ndarray]:
    """For test-time averaging: up to `max_copies` functional copies per cell (itself first, the rest
    in ordinal order, so the result is deterministic). Returns (cells, index of the original cell)."""
    arr = space.as_array(cells)
    own = space.ordinals(arr)
    picked, owners = [], []
    for i, (o, copies) in enumerate(zip(own, space.functional_copies(arr))):
        chosen = np.concatenate([[o], copies[copies != o][: max_copies - 1]]).astype(np.int64)
        picked.append(chosen)
        owners.append(np.full(len(chosen), i))
    return space.all_cells()[np.concatenate(picked)], np.concatenate(owners)


def mean_by_owner(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of `values` per original cell (the inverse of `functional_expand`)."""
    return (np.bincount(owner, weights=values, minlength=n) / np.bincount(owner, minlength=n)).astype(np.float32)
