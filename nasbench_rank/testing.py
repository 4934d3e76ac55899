"""A test kit for predictor plugins: `check_predictor` runs a predictor through what the framework
expects of it, on a small synthetic problem of any registered space (no benchmark data is read).

    from nasbench_rank.testing import check_predictor

    def test_my_predictor_meets_the_contract():
        check_predictor("my-predictor")                       # a registered name
        check_predictor("my-predictor", space="fcnet")        # another space
        check_predictor(MyPredictor, settings={"epochs": 2})  # a class (or factory), with settings

A failed check raises `PredictorCheckFailed` (an AssertionError) naming the check and the
predictor. A predictor that says it cannot run on the space (it has no `space` setting, or its
class's `check_space` refuses it) raises `unittest.SkipTest`, which pytest reports as a skip.

The problem: distinct elements drawn from the space with a seeded generator, and float32 labels
from a fixed random linear function of their one-hot encoding plus noise.
"""

from __future__ import annotations

import random
import sys
import tempfile
import unittest
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from .errors import UserError

__all__ = ["CHECKS", "PredictorCheckFailed", "check_predictor"]

CHECKS = ("build", "get_params", "clone", "fit", "predict", "finite", "predict_std", "deterministic", "save/load",
          "partial_fit")


class PredictorCheckFailed(AssertionError):
    """A predictor failed a check of `check_predictor`; ``check`` and ``predictor`` name them."""

    def __init__(self, predictor: str, check: str, detail: str):
        super().__init__(f"predictor {predictor} failed check {check!r}: {detail}")
        self.predictor = predictor
        self.check = check


def problem(space: Any, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n distinct elements of `space`, float32 labels): the synthetic problem the checks fit."""
    from .spaces import resolve_space

    sp = resolve_space(space)
    rng = np.random.default_rng(seed)
    elements = sp.sample(rng, n)
    x = sp.one_hot(elements).astype(np.float64)
    score = x @ rng.normal(size=x.shape[1]) + 0.1 * rng.normal(size=n)
    y = 0.6 + 0.3 * np.tanh((score - score.mean()) / (score.std() or 1.0))
    return elements, y.astype(np.float32)


@contextmanager
def _global_randomness_reseeded(seed: int) -> Iterator[None]:
    """Reseed the generators a predictor could use without being given a seed; put them back after."""
    torch = sys.modules.get("torch")
    saved = (np.random.get_state(), random.getstate(), torch.random.get_rng_state() if torch is not None else None)
    np.random.seed(seed)
    random.seed(seed)
    if torch is not None:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
        if torch is not None:
            torch.random.set_rng_state(saved[2])


class _Run:
    """One predictor under check: how to build it, what to call it, and the failure helper."""

    def __init__(self, predictor: Any, settings: dict[str, Any]):
        from .plugins import get_plugins

        self.settings = dict(settings)
        self.registered: str | None = None
        if isinstance(predictor, str):
            entry = get_plugins().predictors.get(predictor)  # an unknown name: the registry's one line
            self.registered = predictor
            self.label = f"{predictor!r} ({entry.origin()}{' ' + entry.version if entry.version else ''})"
            self.make: Callable[[], Any] = lambda: get_plugins().predictors.create(predictor, **self.settings)
        elif isinstance(predictor, type) or (callable(predictor) and not hasattr(predictor, "fit")):
            self.label = repr(getattr(predictor, "__qualname__", repr(predictor)))
            self.make = lambda: predictor(**self.settings)
        else:
            if settings:
                raise TypeError("settings apply to a name or a factory; an instance carries its own")
            from sklearn.base import clone

            self.label = repr(type(predictor).__qualname__)
            self.make = lambda: clone(predictor)

    def fail(self, check: str, detail: str) -> PredictorCheckFailed:
        return PredictorCheckFailed(self.label, check, detail)

    def build(self, space: Any, seed: int) -> Any:
        """A fresh predictor, seeded and given the space, as the framework builds one."""
        from .seeding import apply_seed
        from .spaces import give_space

        try:
            model = self.make()
        except Exception as exc:
            raise self.fail("build", f"{type(exc).__name__}: {exc}") from exc
        if not (callable(getattr(model, "fit", None)) and callable(getattr(model, "predict", None))):
            raise self.fail("build", f"a {type(model).__name__} has no fit and predict methods")
        apply_seed(model, seed, explicit=self.settings)
        check = getattr(type(model), "check_space", None)
        try:
            if callable(check):
                check(space)
            give_space(model, space, self.label, self.settings)
        except UserError as exc:
            raise unittest.SkipTest(f"predictor {self.label} does not run on space {space.name!r}: {exc}") from None
        return model


def check_predictor(predictor: Any, space: Any = "nb201", *, settings: dict[str, Any] | None = None,
                    n_train: int = 40, n_test: int = 30, seed: int = 0) -> list[str]:
    """Run `predictor` through every check of `CHECKS` on a synthetic problem of `space`; return the
    names of the checks it passed (``predict_std`` and ``partial_fit`` only when it has them).

    `predictor`: a registered name, a class or factory (called with `settings`), or an unfitted
    instance (copied with `sklearn.base.clone`). `space`: a registered space's name or a `Space`.
    Raises `PredictorCheckFailed` (an AssertionError naming the check and the predictor) at the first
    failed check, `unittest.SkipTest` when the predictor does not run on the space.

    The checks: it builds and has fit/predict; `get_params`/`set_params` round trip; `clone` keeps
    its class and settings; `fit` returns self, leaves its inputs unchanged and sets fitted
    attributes (names ending in ``_``); `predict` gives one number per element, all finite;
    `predict_std` (when present) likewise, and not negative; `partial_fit` (when present) returns
    self and keeps predictions finite; two predictors built with the same seed predict the same
    (within 1e-5) even when the global random generators differ between their fits; and a saved and
    reloaded copy (`persist`; through the registry for a registered name) predicts exactly the same.
    """
    from .spaces import resolve_space

    run = _Run(predictor, settings or {})
    sp = resolve_space(space)
    elements, y = problem(sp, n_train + 2 * n_test, seed)
    x_train, y_train = elements[:n_train], y[:n_train]
    x_test = elements[n_train:n_train + n_test]
    x_more, y_more = elements[n_train + n_test:], y[n_train + n_test:]
    passed = ["build"]

    model = run.build(sp, seed)
    _check_params(run, model)
    passed += ["get_params", "clone"]
    fitted = _check_fit(run, model, x_train, y_train)
    passed.append("fit")
    pred = _check_output(run, "predict", fitted.predict, x_test)
    passed += ["predict", "finite"]
    std = None
    if callable(getattr(fitted, "predict_std", None)):
        std = _check_output(run, "predict_std", fitted.predict_std, x_test)
        if np.any(std < 0):
            raise run.fail("predict_std", f"{int(np.sum(std < 0))} negative standard deviations")
        passed.append("predict_std")

    with _global_randomness_reseeded(seed + 12345):
        again = np.asarray(_check_fit(run, run.build(sp, seed), x_train, y_train).predict(x_test), dtype=np.float64)
    if again.shape != pred.shape or not np.allclose(again, pred, rtol=1e-5, atol=1e-6):
        worst = float(np.max(np.abs(again - pred))) if again.shape == pred.shape else float("nan")
        raise run.fail("deterministic", f"two fits with seed {seed} predict differently (largest difference "
                                        f"{worst:.3g}); draw randomness only from the `seed` or `random_state` "
                                        f"setting, never from global generators")
    passed.append("deterministic")

    _check_round_trip(run, fitted, sp, seed, x_test, pred, std)
    passed.append("save/load")

    if callable(getattr(fitted, "partial_fit", None)):
        try:
            returned = fitted.partial_fit(x_more.copy(), y_more.copy())
        except Exception as exc:
            raise run.fail("partial_fit", f"{type(exc).__name__}: {exc}") from exc
        if returned is not fitted:
            raise run.fail("partial_fit", f"partial_fit returned {type(returned).__name__}, not the predictor itself")
        _check_output(run, "partial_fit", fitted.predict, x_test)
        passed.append("partial_fit")
    return passed


def _check_params(run: _Run, model: Any) -> None:
    from sklearn.base import clone

    get_params = getattr(model, "get_params", None)
    if not callable(get_params) or not callable(getattr(model, "set_params", None)):
        raise run.fail("get_params", "it has no get_params/set_params (subclass sklearn.base.BaseEstimator)")
    try:
        params = get_params(deep=False)
        back = model.set_params(**params)
    except Exception as exc:
        raise run.fail("get_params", f"{type(exc).__name__}: {exc}") from exc
    if back is not model:
        raise run.fail("get_params", "set_params did not return the predictor itself")
    try:
        copy = clone(model)
    except Exception as exc:
        raise run.fail("clone", f"{type(exc).__name__}: {exc}") from exc
    if type(copy) is not type(model):
        raise run.fail("clone", f"the copy is a {type(copy).__name__}, not a {type(model).__name__}")
    changed = [k for k, v in copy.get_params(deep=False).items() if not _same(v, params.get(k))]
    if changed or set(copy.get_params(deep=False)) != set(params):
        raise run.fail("clone", f"the copy's settings differ: {', '.join(changed) or 'their names'}")


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _check_fit(run: _Run, model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    x_in, y_in = x.copy(), y.copy()
    try:
        returned = model.fit(x_in, y_in)
    except Exception as exc:
        raise run.fail("fit", f"{type(exc).__name__}: {exc}") from exc
    if returned is not model:
        raise run.fail("fit", f"fit returned {type(returned).__name__}, not the predictor itself")
    if not (np.array_equal(x_in, x) and np.array_equal(y_in, y)):
        raise run.fail("fit", "fit changed the elements or labels it was given")
    if not any(k.endswith("_") and not k.startswith("_") for k in vars(model)):
        raise run.fail("fit", "fit set no fitted attribute (a name ending in '_', scikit-learn's convention; "
                              "saving a predictor relies on it)")
    return model


def _check_output(run: _Run, check: str, method: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    try:
        out = np.asarray(method(x.copy()), dtype=np.float64)
    except Exception as exc:
        raise run.fail(check, f"{type(exc).__name__}: {exc}") from exc
    if out.shape != (len(x),):
        raise run.fail(check, f"returned shape {out.shape} for {len(x)} elements; expected ({len(x)},)")
    bad = int(np.sum(~np.isfinite(out)))
    if bad:
        raise run.fail("finite" if check == "predict" else check, f"{bad} of {len(out)} outputs are NaN or infinite")
    return out


def _check_round_trip(run: _Run, fitted: Any, sp: Any, seed: int, x: np.ndarray, pred: np.ndarray,
                      std: np.ndarray | None) -> None:
    from .predictors import persist

    try:
        if run.registered is not None:
            with tempfile.TemporaryDirectory(prefix="nasbench-rank-check-") as tmp:
                persist.save_predictor(fitted, tmp, {"name": run.registered, "kwargs": run.settings})
                loaded = persist.load_predictor(tmp)
        else:
            tree, arrays = persist.read_state_bytes(persist.state_bytes(fitted))
            loaded = persist.load_state(run.build(sp, seed), tree, arrays)
    except Exception as exc:
        raise run.fail("save/load", f"{type(exc).__name__}: {exc}") from exc
    again = np.asarray(loaded.predict(x.copy()), dtype=np.float64)
    if again.shape != pred.shape or not np.array_equal(again, pred):
        raise run.fail("save/load", "the reloaded predictor predicts differently from the one saved")
    if std is not None and not np.array_equal(np.asarray(loaded.predict_std(x.copy()), dtype=np.float64), std):
        raise run.fail("save/load", "the reloaded predictor's predict_std differs from the one saved")
