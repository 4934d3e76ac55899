"""Save a fitted predictor and load it back, so a pretrained predictor can be reused by later searches
without refitting. A directory holds ``predictor.pkl`` (the fitted object) and ``meta.json`` (what
it is and how it was fitted), so a reader can judge a saved predictor without unpickling it.

Pickles run code when loaded: load only directories you (or someone you trust) wrote.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

from . import __version__
from .errors import UserError

PICKLE_NAME = "predictor.pkl"
META_NAME = "meta.json"
FORMAT = 1


def _is_fitted(predictor: Any) -> bool:
    """scikit-learn's convention: fitting sets public attributes ending in '_'."""
    return any(k.endswith("_") and not k.startswith("_") for k in vars(predictor))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() honours the umask; mkstemp would not
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_predictor(predictor: Any, directory: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write the fitted predictor and its metadata into ``directory`` (created if needed).

    ``meta`` should name the predictor (``name``), its settings (``kwargs``) and the fit protocol
    (``protocol``); the package version, the class and the format are added here.
    """
    if not hasattr(predictor, "__dict__") or not _is_fitted(predictor):
        raise UserError(f"cannot save {type(predictor).__name__}: it is not fitted")
    if "name" not in meta:
        raise UserError("predictor metadata must include its registered 'name'")
    record = {**meta, "version": __version__, "class": f"{type(predictor).__module__}:{type(predictor).__qualname__}",
              "format": FORMAT}
    try:
        text = json.dumps(record, indent=2, sort_keys=True)
    except TypeError as exc:
        raise UserError(f"predictor metadata must be JSON-serialisable: {exc}") from None
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create predictor directory {directory}: {exc.strerror or exc}") from None
    _atomic_write(directory / PICKLE_NAME, pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL))
    _atomic_write(directory / META_NAME, (text + "\n").encode())
    return directory


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a saved predictor, without loading the predictor."""
    path = Path(directory) / META_NAME
    if not path.is_file():
        raise UserError(f"{directory} holds no saved predictor (no {META_NAME})")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path} is not predictor metadata of format {FORMAT}")
    return meta


def load_predictor(directory: str | os.PathLike) -> Any:
    """The fitted predictor saved in ``directory``; warns when another package version saved it."""
    meta = read_meta(directory)
    path = Path(directory) / PICKLE_NAME
    if not path.is_file():
        raise UserError(f"{directory} has metadata but no {PICKLE_NAME}")
    try:
        with open(path, "rb") as fh:
            predictor = pickle.load(fh)
    except Exception as exc:  # a truncated or foreign pickle fails in many ways
        raise UserError(f"cannot load predictor from {path}: {type(exc).__name__}: {exc}") from None
    if meta.get("version") != __version__:
        warnings.warn(f"predictor in {directory} was saved by nasbench-rank {meta.get('version')}, "
                      f"this is {__version__}", stacklevel=2)
    return predictor
