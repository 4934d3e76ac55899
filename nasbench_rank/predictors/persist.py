"""Save a fitted predictor and load it back, in formats that cannot run code when read.

A saved predictor is a directory with ``meta.json`` (its registered name, settings, fit protocol,
class, versions, format) and ``state.safetensors`` (its fitted state). The state file is one
safetensors file: every array is a tensor in it, and the rest is a JSON tree in its header. Loading
builds a fresh predictor through the plugin registry from the name and settings (what a user could
type), checks that it is of the saved class, and fills in the saved state:

- plain values (numbers, strings, lists, dicts) as JSON; arrays of strings as JSON lists;
- numpy arrays and torch tensors as safetensors tensors; a torch module as its state_dict
  (tensors), loaded into a module the predictor builds (see `MODULE_BUILDERS`);
- an XGBoost model in XGBoost's own UBJ format (the bytes as a tensor);
- a scikit-learn object (and a numpy random generator) whole, as a skops file (the bytes as a
  tensor), loaded only when every type it names is on the allow-list of `trusted` (scikit-learn,
  numpy, scipy, xgboost, nasbench_rank, and the class of the predictor holding it); a file naming
  any other type is refused before anything is built;
- a predictor inside a predictor (an ensemble's members) the same way, built by its owner;
- a search space (a predictor's `space` setting) as its name, restored with `spaces.resolve_space`
  (a dataset's subspace, e.g. ``nbgraph-proteins``, through the benchmark named before its ``-``);
- what the registry hands a predictor when it builds one (its class's ``injected`` attributes: a
  loss object, a member factory) is not saved: the registry hands it over again on loading.

A predictor holding anything else (a Python function, an arbitrary object) has no safe format:
saving it raises `UnsafeState`, and callers refit instead. Nothing is ever unpickled.

Older directories: format 2 (``state.npz``, read with ``allow_pickle=False``) still loads, unless it
holds a scikit-learn estimator, which format 2 kept only in part (its public fitted attributes):
such a directory is refused in one line, as is format 1 (a pickle). Refit and save again.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__, atomic
from ..errors import UserError
from . import trusted

STATE_NAME = "state.safetensors"
META_NAME = "meta.json"
OLD_STATE_NAME = "state.npz"  # format 2
OLD_PICKLE_NAME = "predictor.pkl"  # format 1
FORMAT = 3
READABLE_FORMATS = (2, 3)
TREE_KEY = "nasbench_rank"  # the safetensors header entry holding the JSON tree
_TREE = "__tree__"  # format 2: the npz entry holding the JSON tree (uint8 bytes)
MAX_HEADER = 100_000_000  # safetensors' own limit on its header


class UnsafeState(UserError):
    """A fitted predictor holds state that has no format which cannot run code when read."""


class OldFormat(UserError):
    """A saved predictor in a format this version refuses to load (nothing was loaded)."""


def class_path(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


def _gin_network(p: Any, st: dict[str, np.ndarray]) -> Any:
    from .gnn import GINNet

    return GINNet(p.hidden, p.layers, st["layers.0.mlp.0.weight"].shape[1] // 2)  # a layer sees both directions


def _module_builders() -> dict[tuple[str, str], Callable[[Any, dict[str, np.ndarray]], Any]]:
    """(predictor class, attribute) -> build(predictor, state arrays) -> an empty torch module of the
    right shape (for a list of modules: each of them). A third-party predictor offers the same
    through a method ``build_module(attribute, state)``."""
    return {
        ("nasbench_rank.predictors.mlp:MLPPredictor", "network_"): lambda p, st: p._network(st["0.weight"].shape[1]),
        ("nasbench_rank.predictors.act:ACTPredictor", "models_"): lambda p, st: p._build(),
        ("nasbench_rank.predictors.bananas:BananasPredictor", "members_"):
            lambda p, st: p._network(st["0.weight"].shape[1]),
        ("nasbench_rank.predictors.gnn:GINPredictor", "network_"): _gin_network,
    }


MODULE_BUILDERS = _module_builders()


def _predictor_builders() -> dict[tuple[str, str], Callable[[Any], Any]]:
    """(predictor class, attribute) -> build(owner) -> an unfitted predictor held by the owner."""
    def member(owner: Any) -> Any:
        from ..plugins import get_plugins

        return get_plugins().predictors.create(owner.base, **(owner.base_kwargs or {}))

    return {("nasbench_rank.predictors.ensemble:EnsemblePredictor", "members_"): member}


PREDICTOR_BUILDERS = _predictor_builders()
_XGB_CLASSES = ("XGBRegressor", "XGBRanker", "XGBClassifier")


# ---- encoding ----------------------------------------------------------------------------------

def _whole(value: Any) -> bool:
    """Saved whole with skops: a scikit-learn object, or a numpy random generator."""
    if type(value).__module__.split(".")[0] == "sklearn":
        return True
    return isinstance(value, (np.random.Generator, np.random.RandomState))


class _Encoder:
    def __init__(self, owner: Any) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.owner = owner  # the predictor whose attributes are being encoded

    def array(self, value: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return key

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (list, tuple)):
            return {"list": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise UnsafeState(f"{where}: a dict with non-string keys")
            return {"dict": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        from ..spaces import Space

        if isinstance(value, Space):
            return {"space": value.name}
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            return {"tensor": self.ndarray(value.detach().cpu().numpy(), where)["array"]}
        if torch is not None and isinstance(value, torch.nn.Module):
            state = {k: self.ndarray(v.detach().cpu().numpy(), f"{where}.{k}")["array"]
                     for k, v in value.state_dict().items()}
            return {"module": state, "training": value.training}
        module = type(value).__module__
        if module.startswith("xgboost") and type(value).__name__ in _XGB_CLASSES:
            raw = value.get_booster().save_raw(raw_format="ubj")
            return {"xgboost": type(value).__name__, "raw": self.array(np.frombuffer(bytes(raw), dtype=np.uint8))}
        if _whole(value):
            try:
                data = trusted.dumps(value, own=(type(self.owner),))
            except ValueError as exc:
                raise UnsafeState(f"{where}: a {module}.{type(value).__qualname__}: {exc}") from None
            return {"skops": self.array(np.frombuffer(data, dtype=np.uint8)), "type": f"{module}.{type(value).__name__}"}
        if hasattr(value, "fit") and hasattr(value, "predict") and hasattr(value, "__dict__"):
            inner = _Encoder(value)
            inner.arrays = self.arrays  # one file: the member's arrays beside its owner's
            return {"predictor": class_path(value), "state": inner.encode(saved_attributes(value), where)}
        raise UnsafeState(f"{where}: a {module}.{type(value).__qualname__} has no safe format")

    def ndarray(self, value: np.ndarray, where: str) -> dict[str, Any]:
        if value.dtype.kind in "biufc":
            return {"array": self.array(value)}
        if value.dtype.kind in "US":
            items = value.ravel().tolist()
            text = [v.decode("latin-1") if isinstance(v, bytes) else v for v in items]
            return {"strings": text, "dtype": value.dtype.str, "shape": list(value.shape)}
        raise UnsafeState(f"{where}: an array of {value.dtype}")


def saved_attributes(predictor: Any) -> dict[str, Any]:
    """Every attribute of `predictor` but those the registry hands over when it builds one (the class's
    ``injected`` names): loading builds through the registry, which hands them over again."""
    skip = set(getattr(type(predictor), "injected", ()))
    return {k: v for k, v in vars(predictor).items() if k not in skip}


def dump_state(predictor: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON tree, arrays) of every saved attribute of `predictor`; UnsafeState when one has no safe format."""
    enc = _Encoder(predictor)
    tree = enc.encode(saved_attributes(predictor), type(predictor).__name__)
    return {"class": class_path(predictor), "state": tree}, enc.arrays


def state_bytes(predictor: Any, meta: dict[str, Any] | None = None) -> bytes:
    """The predictor's state (and `meta`) as the bytes of one safetensors file."""
    from safetensors.numpy import save

    tree, arrays = dump_state(predictor)
    tree["meta"] = meta or {}
    tree["format"] = FORMAT
    try:
        return save(arrays, metadata={TREE_KEY: json.dumps(tree, allow_nan=True)})
    except Exception as exc:  # a dtype safetensors has no name for
        raise UnsafeState(f"{type(predictor).__name__}: an array safetensors cannot hold ({exc})") from None


# ---- decoding ----------------------------------------------------------------------------------

class _Decoder:
    def __init__(self, arrays: Any, fmt: int = FORMAT, where: str = "saved state"):
        self.arrays = arrays
        self.format = fmt
        self.where = where

    def array(self, key: Any) -> np.ndarray:
        if not isinstance(key, str) or key == _TREE or key not in self.arrays:
            raise ValueError(f"missing array {key!r}")
        return self.arrays[key]

    def decode(self, value: Any, owner: Any, attr: str) -> Any:
        if not isinstance(value, dict):
            return value
        if "list" in value:
            return [self.decode(v, owner, attr) for v in value["list"]]
        if "dict" in value:
            return {k: self.decode(v, owner, attr) for k, v in value["dict"].items()}
        if "array" in value:
            return self.array(value["array"])
        if "strings" in value:
            dtype = np.dtype(str(value["dtype"]))
            if dtype.kind not in "US":
                raise ValueError(f"not a string dtype: {value['dtype']!r}")
            items = [s.encode("latin-1") for s in value["strings"]] if dtype.kind == "S" else value["strings"]
            return np.array(items, dtype=dtype).reshape([int(n) for n in value["shape"]])
        if "tensor" in value:
            import torch

            return torch.from_numpy(np.array(self.array(value["tensor"])))
        if "module" in value:
            return self.module(value, owner, attr)
        if "xgboost" in value:
            import xgboost

            if value["xgboost"] not in _XGB_CLASSES:
                raise ValueError(f"unknown xgboost class {value['xgboost']!r}")
            model = getattr(xgboost, value["xgboost"])()
            model.load_model(bytearray(self.array(value["raw"]).tobytes()))
            return model
        if "skops" in value and self.format >= 3:
            data = self.array(value["skops"]).tobytes()
            return trusted.loads(data, own=(type(owner),), where=f"{self.where} ({attr})")
        if "sklearn" in value and self.format == 2:
            raise OldFormat(f"{self.where} was saved in format 2, which kept only the public fitted attributes of "
                            f"the scikit-learn estimator in {attr}; refit it and save it again (nothing was loaded)")
        if "space" in value:
            return restore_space(value["space"])
        if "predictor" in value:
            build = PREDICTOR_BUILDERS.get((class_path(owner), attr))
            if build is None:
                raise ValueError(f"no way to rebuild the predictor held in {attr}")
            inner = build(owner)
            tree = {"class": value["predictor"], "state": value["state"]}
            return load_state(inner, tree, self.arrays, fmt=self.format, where=self.where)
        raise ValueError(f"unknown entry {sorted(value)}")

    def module(self, value: dict[str, Any], owner: Any, attr: str) -> Any:
        import torch

        state = {k: np.array(self.array(v)) for k, v in value["module"].items()}
        build = getattr(owner, "build_module", None)
        builder = MODULE_BUILDERS.get((class_path(owner), attr))
        if builder is not None:
            module = builder(owner, state)
        elif callable(build):
            module = build(attr, state)
        else:
            raise ValueError(f"no way to rebuild the torch module held in {attr}")
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return module.train(bool(value.get("training", False)))


def restore_space(name: Any) -> Any:
    """The Space a saved `space` setting names: a registered space, or a dataset's subspace of one
    (``nbgraph-proteins``: the space of the benchmark ``nbgraph`` that carries that name)."""
    from ..spaces import load, resolve_space

    if not isinstance(name, str):
        raise ValueError(f"a saved space is a name, got {type(name).__name__}")
    try:
        return resolve_space(name)
    except UserError:
        base = name.split("-", 1)[0]
        if base == name:
            raise
    bm = load(base)
    for dataset in bm.datasets:
        if bm.space_of(dataset).name == name:
            return bm.space_of(dataset)
    raise ValueError(f"no registered space is named {name!r}")


def load_state(predictor: Any, tree: dict[str, Any], arrays: Any, fmt: int = FORMAT,
               where: str = "saved state") -> Any:
    """Fill the freshly built `predictor` with the saved state `tree` (of `dump_state`). `where`
    names the file in errors."""
    if tree.get("class") != class_path(predictor):
        raise ValueError(f"saved state is of {tree.get('class')}, the registry built {class_path(predictor)}")
    state = tree.get("state")
    if not isinstance(state, dict) or "dict" not in state:
        raise ValueError("saved state is not a table of attributes")
    decoder = _Decoder(arrays, fmt, where)
    for attr, value in state["dict"].items():
        setattr(predictor, attr, decoder.decode(value, predictor, attr))
    return predictor


def read_state_bytes(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(tree, arrays) from the bytes of a state file (safetensors); raises ValueError on anything
    malformed. The arrays are writable copies."""
    from safetensors.numpy import load

    if len(data) < 8:
        raise ValueError("not a safetensors file (too short)")
    size = int.from_bytes(data[:8], "little")
    if size > min(MAX_HEADER, len(data) - 8):
        raise ValueError("not a safetensors file (its header length is out of range)")
    header = json.loads(data[8:8 + size].decode("utf-8"))
    text = header.get("__metadata__", {}).get(TREE_KEY) if isinstance(header, dict) else None
    if not isinstance(text, str):
        raise ValueError("no state tree")
    tree = json.loads(text)
    if not isinstance(tree, dict):
        raise ValueError("state tree is not an object")
    if tree.get("format") != FORMAT:
        raise ValueError(f"state of format {tree.get('format')!r}, not {FORMAT}")
    arrays = {k: np.array(v) for k, v in load(data).items()}
    return tree, arrays


def read_npz_state_bytes(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(tree, arrays) from the bytes of a format-2 ``state.npz`` (read with ``allow_pickle=False``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if _TREE not in arrays:
        raise ValueError("no state tree")
    tree = json.loads(arrays.pop(_TREE).tobytes().decode("utf-8"))
    if not isinstance(tree, dict):
        raise ValueError("state tree is not an object")
    return tree, arrays


def rebuild(name: str, kwargs: dict[str, Any], data: bytes, fmt: int = FORMAT, where: str = "saved state") -> Any:
    """A registered predictor `name` built with `kwargs`, filled with the state in `data` (a state file
    of format `fmt`)."""
    from ..plugins import get_plugins

    tree, arrays = (read_state_bytes if fmt >= 3 else read_npz_state_bytes)(data)
    predictor = get_plugins().predictors.create(name, **kwargs)
    return load_state(predictor, tree, arrays, fmt=fmt, where=where)


# ---- saved predictors ------------------------------------------------------------------------

def _is_fitted(predictor: Any) -> bool:
    """scikit-learn's convention: fitting sets public attributes ending in '_'."""
    return any(k.endswith("_") and not k.startswith("_") for k in vars(predictor))


def save_predictor(predictor: Any, directory: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write the fitted predictor and its metadata into ``directory`` (created if needed).

    ``meta`` must name the predictor (``name``, as registered) and its settings (``kwargs``), and
    should give the fit protocol (``protocol``); the package version, the class and the format are
    added here. A predictor whose state has no safe format raises `UnsafeState` (nothing is written).
    """
    if not hasattr(predictor, "__dict__") or not _is_fitted(predictor):
        raise UserError(f"cannot save {type(predictor).__name__}: it is not fitted")
    if "name" not in meta:
        raise UserError("predictor metadata must include its registered 'name'")
    record = {"kwargs": {}, **meta, "version": __version__, "class": class_path(predictor), "format": FORMAT}
    try:
        text = json.dumps(record, indent=2, sort_keys=True)
    except TypeError as exc:
        raise UserError(f"predictor metadata must be JSON-serialisable: {exc}") from None
    try:
        data = state_bytes(predictor)
    except UnsafeState as exc:
        raise UnsafeState(f"cannot save {meta['name']!r} safely: {exc}") from None
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create predictor directory {directory}: {exc.strerror or exc}") from None
    atomic.write_bytes(directory / STATE_NAME, data)
    atomic.write_text(directory / META_NAME, text + "\n")
    (directory / OLD_STATE_NAME).unlink(missing_ok=True)  # a format-2 state saved here before
    return directory


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a saved predictor, without loading the predictor."""
    path = Path(directory) / META_NAME
    if not path.is_file():
        raise UserError(f"{directory} holds no saved predictor (no {META_NAME})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if isinstance(meta, dict) and meta.get("format") == 1:
        raise OldFormat(f"cannot load predictor from {directory}: it was saved as a pickle by an older version, and "
                        "loading a pickle can run code; refit it (nothing was loaded)")
    if (not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS or not isinstance(meta.get("name"), str)
            or not isinstance(meta.get("kwargs", {}), dict)):
        raise UserError(f"{path} is not predictor metadata of format {FORMAT}")
    return meta


def load_predictor(directory: str | os.PathLike) -> Any:
    """The fitted predictor saved in ``directory``; warns when another package version saved it."""
    meta = read_meta(directory)
    fmt = int(meta["format"])
    path = Path(directory) / (STATE_NAME if fmt >= 3 else OLD_STATE_NAME)
    if not path.is_file():
        raise UserError(f"{directory} has metadata but no {path.name}")
    try:
        predictor = rebuild(meta["name"], dict(meta.get("kwargs") or {}), path.read_bytes(), fmt, where=str(path))
    except UserError as exc:
        raise _restated(exc, f"cannot load predictor from {directory}: {exc}") from None
    except Exception as exc:  # a truncated or foreign file fails in many ways; none of them runs code
        raise UserError(_one_line(f"cannot load predictor from {path}: {type(exc).__name__}: {exc}")) from None
    if meta.get("version") != __version__:
        warnings.warn(f"predictor in {directory} was saved by nasbench-rank {meta.get('version')}, "
                      f"this is {__version__}", stacklevel=2)
    return predictor


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _restated(exc: UserError, text: str) -> UserError:
    """`exc` said as the one line `text`: of its class where that takes a message, with its exit code."""
    try:
        out = type(exc)(_one_line(text))
    except TypeError:
        out = UserError(_one_line(text))
    out.exit_code = exc.exit_code
    return out
