"""scikit-learn objects saved whole with skops, and loaded only when every type they name is allowed.

A skops file lists the types it will build. skops trusts a default set on its own (Python's plain
containers and scalars, numpy arrays, dtypes and ufuncs, scikit-learn's public estimators); every
other type it names must be trusted explicitly when loading. Here that list is never taken from the
file on faith: each name is checked against `allowed`, and a file naming anything else is refused
before skops builds anything. A name is allowed only when it is a class (never a function, method or
other object, which a crafted file could have called) and one of:

- any class of scikit-learn (``sklearn.``): estimators, kernels, trees, distance metrics, losses;
- from numpy: array, scalar and dtype classes and numpy.random's generators (not `numpy.memmap`,
  which maps a file);
- from scipy: the sparse matrix and array classes;
- from xgboost: its scikit-learn models and `xgboost.Booster`;
- from nasbench_rank: its predictor classes (scikit-learn estimators);
- the class of the predictor that holds the object, as its registry entry built it (a plugin's own
  class; the saved file cannot name another).

Resolving a name imports its module, which must belong to one of those packages; module names
with a dunder part (``__main__``) are refused without importing anything.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable

from ..errors import UserError

PACKAGES = ("numpy", "scipy", "sklearn", "xgboost", "nasbench_rank")


class UntrustedType(UserError):
    """A saved scikit-learn object names a type that is not on the allow-list; nothing was built."""


def type_name(cls: type) -> str:
    """A class's name as skops writes it: ``module.Name``."""
    return f"{cls.__module__}.{cls.__name__}"


def _resolve(name: str) -> Any:
    """The object `name` (``package.module.Attr``) names, importing the longest module prefix; None
    when it does not resolve or when a part is a dunder (``__main__`` would run a program)."""
    parts = name.split(".")
    if any(p.startswith("__") and p.endswith("__") for p in parts) or parts[0] not in PACKAGES:
        return None
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _allowed_class(cls: type) -> bool:
    package = cls.__module__.split(".")[0]
    if package == "sklearn":
        return True
    if package == "numpy":
        import numpy as np

        if issubclass(cls, np.memmap):
            return False
        return issubclass(cls, (np.generic, np.dtype, np.ndarray, np.random.Generator, np.random.RandomState,
                                np.random.BitGenerator, np.random.SeedSequence))
    if package == "scipy":
        from scipy import sparse

        return issubclass(cls, (sparse.sparray, sparse.spmatrix))
    if package == "xgboost":
        import xgboost

        return issubclass(cls, (xgboost.XGBModel, xgboost.Booster))
    if package == "nasbench_rank":
        from sklearn.base import BaseEstimator

        return issubclass(cls, BaseEstimator)
    return False


def allowed(name: str, own: Iterable[type] = ()) -> bool:
    """Whether the type `name` (as skops lists it) may be built: see the module's rules. `own`: the
    classes of the predictors holding the object, as the registry built them."""
    if any(name == type_name(cls) for cls in own):
        return True
    obj = _resolve(name)
    return isinstance(obj, type) and _allowed_class(obj)


def refused(data: bytes, own: Iterable[type] = ()) -> tuple[list[str], list[str]]:
    """(the types skops does not trust by default that skops file `data` names, those of them not
    allowed)."""
    import skops.io

    names = sorted(skops.io.get_untrusted_types(data=data))
    own = tuple(own)
    return names, [n for n in names if not allowed(n, own)]


def dumps(obj: Any, own: Iterable[type] = ()) -> bytes:
    """`obj` as the bytes of a skops file; ValueError when skops cannot save it or it names a type
    that loading would refuse (said before anything is written)."""
    import skops.io

    try:
        data = skops.io.dumps(obj)
    except Exception as exc:  # skops refuses types it has no way to save (a lambda, an open file)
        raise ValueError(f"skops cannot save it ({type(exc).__name__}: {_first_line(exc)})") from None
    _, bad = refused(data, own)
    if bad:
        raise ValueError(f"it holds {', '.join(bad)}, which is not on the allow-list of types to load")
    return data


def loads(data: bytes, own: Iterable[type] = (), where: str = "a saved scikit-learn object") -> Any:
    """The object in skops file `data`, built only after every type it names passed `allowed`;
    `UntrustedType` (nothing built) otherwise."""
    import skops.io

    names, bad = refused(data, own)
    if bad:
        raise UntrustedType(f"{where} names {', '.join(bad)}, which is not on the allow-list of types "
                            f"(scikit-learn, numpy, scipy, xgboost, nasbench_rank, the predictor's own class); "
                            f"refused, nothing was loaded")
    return skops.io.loads(data, trusted=names)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
