"""The seeding rule: how a command hands its seed to a predictor it builds.

A predictor built for seed s gets ``set_params(seed=s)`` when its ``get_params()`` has ``seed``, else
``set_params(random_state=s)`` when it has ``random_state``; a predictor without ``get_params``
(not a scikit-learn-style estimator) gets its ``seed`` attribute set when it has one. A setting the
user gave explicitly is never overridden, and a predictor with neither name is left alone (it is
deterministic, or seeds itself).
"""

from __future__ import annotations

from typing import Any, Iterable

SEED_NAMES: tuple[str, ...] = ("seed", "random_state")


def apply_seed(model: Any, seed: int, explicit: Iterable[str] = ()) -> str | None:
    """Give `model` the seed by the rule above; returns the setting's name, or None when none was set."""
    explicit = set(explicit)
    if explicit & set(SEED_NAMES):
        return None
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        params = get_params(deep=False)
        for name in SEED_NAMES:
            if name in params:
                model.set_params(**{name: int(seed)})
                return name
        return None
    if hasattr(model, "seed"):
        model.seed = int(seed)
        return "seed"
    return None


def seed_of(model: Any) -> int | None:
    """The seed a model was built with (by the same rule), or None."""
    get_params = getattr(model, "get_params", None)
    params = get_params(deep=False) if callable(get_params) else vars(model)
    for name in SEED_NAMES:
        if isinstance(params.get(name), int):
            return params[name]
    return None


def parse_ranges(text: str) -> list[int]:
    """Integers from "0-9", "100,102" or "0-4,100-102" (the seed and size lists of the benchmark scripts)."""
    out: list[int] = []
    for part in str(text).split(","):
        if not part.strip():
            continue
        lo, _, hi = part.strip().partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out
