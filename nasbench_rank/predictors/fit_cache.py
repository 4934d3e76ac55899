"""Pretrained fits shared by the searches of a grid, kept in formats that cannot run code when read.

The article's grid searches three datasets with one frozen CIFAR-10 predictor per seed, and a fit is
deterministic, so refitting it for every search would only cost time. `cached_fit(key, fit)` keeps
the last fits of this process in memory and, when $NASBENCH_RANK_PRETRAINED_CACHE names a folder (the
harness points it at `OUT/cache/` so that a grid's worker processes share fits), on disk: one
`<digest>.safetensors` per fit (the predictor's state, see `persist`: tensors, a JSON tree, and
scikit-learn objects as skops files loaded only with allow-listed types) and a `<digest>.lock` that
makes a second worker wait for the first instead of fitting the same thing. Entries that older
versions wrote (`<digest>.npz`) are never read; the fits are made again.

The digest covers the key, the table's checksum, the code version (`provenance.code_key`) and the
versions of the plugins' distributions, so a fit made from another table, by other code or by another
version of a plugin is never reused; each entry also carries that whole identity and is checked
against it when read, so an entry copied under another fit's name is not taken for it. An entry that
cannot be read (cut short, corrupt, planted, of another class, naming a type off the allow-list) is
discarded with a warning and refitted; a predictor whose state has no safe format is fitted and kept
in memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import filelock

from .. import atomic
from . import persist
from ..provenance import code_key, plugin_distributions

CACHE_ENV = "NASBENCH_RANK_PRETRAINED_CACHE"
MEMORY_SIZE = 8
_MEMORY: OrderedDict[tuple, tuple[Any, float]] = OrderedDict()

Fit = Callable[[], tuple[Any, float]]


def _remember(key: tuple, frozen: tuple[Any, float]) -> None:
    _MEMORY[key] = frozen
    _MEMORY.move_to_end(key)
    while len(_MEMORY) > MEMORY_SIZE:
        _MEMORY.popitem(last=False)


def clear_memory() -> None:
    _MEMORY.clear()


def _table_sha256() -> str:
    from ..tables import nb201 as bench

    return bench.load().sha256


def _predictor_of(key: tuple) -> tuple[str, dict[str, Any]] | None:
    """(registered name, settings) when `key` starts with them (name, JSON of the settings)."""
    if len(key) < 2 or not isinstance(key[0], str) or not isinstance(key[1], str):
        return None
    try:
        kwargs = json.loads(key[1])
    except ValueError:
        return None
    return (key[0], kwargs) if isinstance(kwargs, dict) else None


def identity(key: tuple, table_sha256: str) -> str:
    """Everything a fit depends on, as one string: the key, the table's checksum, the code version
    and the distributions (with versions) of the plugins it uses. An entry carries it and is used
    only where the same identity is asked for."""
    plugins = plugin_distributions([("predictor", key[0])]) if key and isinstance(key[0], str) else {}
    return json.dumps([repr(key), table_sha256, code_key(), sorted(plugins.items())])


def entry_path(folder: str | os.PathLike, key: tuple, table_sha256: str) -> Path:
    digest = hashlib.sha256(identity(key, table_sha256).encode("utf-8")).hexdigest()[:32]
    return Path(folder) / f"{digest}.safetensors"


def _read(path: Path, name: str, kwargs: dict[str, Any], key: tuple, expected: str,
          make: Callable[[], Any] | None = None) -> tuple[Any, float] | None:
    if not path.exists():
        return None
    try:
        tree, arrays = persist.read_state_bytes(path.read_bytes())
        meta = tree.get("meta") or {}
        if meta.get("identity") != expected:
            raise ValueError("it holds another fit (its key, table, code or plugin versions differ)")
        from ..plugins import get_plugins

        blank = make() if make is not None else get_plugins().predictors.create(name, **kwargs)
        model = persist.load_state(blank, tree, arrays, where=str(path))
        return model, float(meta["seconds"])
    except Exception as exc:  # whatever is wrong with it, nothing in it ran: refit
        warnings.warn(f"discarding unreadable fit cache entry {path} ({type(exc).__name__}: {exc}); refitting",
                      stacklevel=3)
        path.unlink(missing_ok=True)
        return None


def cached_fit(key: tuple, fit: Fit, table_sha256: str | None = None,
               make: Callable[[], Any] | None = None) -> tuple[Any, float]:
    """The (model, fit seconds) for `key`: from this process, the disk cache, or `fit()`.

    `key` is (predictor name, JSON of its settings, ...the rest of what determines the fit); the disk
    cache is used only for keys of that shape, since a cached model is rebuilt through the registry.
    table_sha256: the checksum of the table the fit reads (default: that of `bench.load()`). `make`:
    builds the blank predictor a disk entry is loaded into (as the fit built it: seeded, given its
    space); default: the registry's predictor with the key's settings. Keys name the space (search
    keys: name, settings, space, source, metric, n_train, seed)."""
    if key in _MEMORY:
        _MEMORY.move_to_end(key)
        return _MEMORY[key]
    folder = os.environ.get(CACHE_ENV)
    predictor = _predictor_of(key)
    if not folder or predictor is None:
        frozen = fit()
    else:
        expected = identity(key, table_sha256 or _table_sha256())
        path = entry_path(folder, key, table_sha256 or _table_sha256())
        path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(path.with_suffix(".lock"))):
            frozen = _read(path, *predictor, key, expected, make)
            if frozen is None:
                frozen = fit()
                model, seconds = frozen
                try:
                    data = persist.state_bytes(model, {"key": repr(key), "identity": expected, "seconds": float(seconds),
                                                       "name": predictor[0], "code": code_key()})
                except persist.UnsafeState:
                    data = None  # no safe format: this process keeps it, others refit
                if data is not None:
                    atomic.write_bytes(path, data)
    _remember(key, frozen)
    return frozen
