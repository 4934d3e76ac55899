"""Grid specs: a TOML file of `[[eval]]` and `[[search]]` blocks, expanded into independent cells.

Every list-valued setting of a block is crossed with the others; a scalar counts as a one-item list.
A block runs on one search space, its `space` key (default `nb201`): its datasets, metric and pool
are checked against that space's benchmark, and NAS-Bench-201's own defaults (cifar10, metric test
in eval blocks) become the space's first dataset and default metric elsewhere. An NB201 cell's
settings do not name the space, so its id is the one it had before spaces existed.
Each cell carries the complete settings it runs with and an id hashed from them, so the same
settings give the same id in any spec, run or machine: that id is what resume keys on.

An `[[eval]]` block may name a predictor-quality protocol (`protocol = "pinat"`, the names of
`nasbench-rank eval --protocol`): it supplies the block's pool, metric, score metric, every one of
its training sizes and its scored set, over the `[defaults]`; keys written in the block override
it, as the options of `eval` do. A cell names its protocol only when its settings are the
protocol's (otherwise its rows are a custom protocol, as `eval`'s are), and names `score_metric`
only when it differs from `metric`, so a block without a protocol keeps the cell ids it had.

A spec is checked as a whole before anything runs, and every problem is reported at once (one line
each), so a typo in a 300-cell grid costs one edit, not one failed run per typo.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..tables import nb201 as bench
from ..spaces import nb201_cell as space
from ..errors import UserError
from . import search_options
from ..spaces.nb201 import N_FUNCTIONAL_CLASSES, N_UNIQUE_IDS

KINDS: tuple[str, ...] = ("eval", "search")
POOLS: dict[str, int] = {"full": space.N_CELLS, "unique": N_UNIQUE_IDS, "functional": N_FUNCTIONAL_CLASSES}
MODES: tuple[str, ...] = ("pretrained", "online", "pretrained+online")
TOP_LEVEL_KEYS: tuple[str, ...] = ("name", "description", "defaults") + KINDS
NO_PREDICTOR = "none"  # in a search block's predictors: search without a predictor

# Block keys and their defaults ([[search]]: those of run_search; [[eval]]: see below).
DEFAULT_SPACE = "nb201"
# An [[eval]] block's defaults are those of `nasbench-rank eval` (its leak-free protocol `functional`).
EVAL_KEYS: dict[str, Any] = {
    "space": DEFAULT_SPACE, "predictors": None, "losses": [None], "source": "cifar10", "targets": ["cifar10"],
    "pool": "functional", "n_train": 900, "n_test": "rest", "metric": "valid", "seeds": [0], "predictor_kwargs": {},
    "save_predictions": False, "protocol": None, "score_metric": None,
}
#: The settings of an [[eval]] block a named protocol supplies (`quality.protocol.PROTOCOLS`).
PROTOCOL_KEYS: tuple[str, ...] = ("pool", "metric", "score_metric", "n_train", "n_test")
SEARCH_KEYS: dict[str, Any] = {
    "space": DEFAULT_SPACE, "predictors": [None], "losses": [None], "searches": None, "datasets": ["cifar10"], "source": "cifar10",
    "modes": ["pretrained"], "budget": 210, "metric": "valid", "n_train": 900, "seeds": [0],
    "predictor_kwargs": {}, "search_kwargs": {}, "in_process": False, **search_options.KEYS,
}
BLOCK_KEYS: dict[str, dict[str, Any]] = {"eval": EVAL_KEYS, "search": SEARCH_KEYS}


class SpecError(UserError):
    """A spec that cannot run; `problems` holds every problem found, one line each."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"spec {path} has {len(problems)} problem{'s' * (len(problems) != 1)}:\n{lines}")


@dataclass(frozen=True)
class Cell:
    """One unit of work: `kind` ("eval" or "search") and the full keyword settings of its run."""

    kind: str
    settings: dict[str, Any] = field(hash=False)
    id: str = ""

    def label(self) -> str:
        s = self.settings
        parts = [self.kind] + ([s["space"]] if s.get("space") else []) + [s.get("predictor") or "-"]
        if s.get("loss"):
            parts.append(s["loss"])
        if s.get("n_train"):
            parts.append(f"n_train={s['n_train']}")
        if s.get("protocol"):
            parts.append(f"protocol={s['protocol']}")
        if self.kind == "search":
            parts += [s["search"], s["dataset"]]
        else:
            parts.append("+".join(s["targets"]))
        return " ".join(parts) + f" seed={s['seed']}"


#: Settings that do not change a cell's rows (what it also writes), so they are not part of its id:
#: the same work gets the same id and is counted once.
NOT_IN_ID: tuple[str, ...] = ("save_predictions",)
#: The most cells one spec may expand to (expansion is linear; past this a spec is refused).
MAX_CELLS = 100_000
#: Seeds are 32-bit (numpy's and torch's generators take them; the literature's are small).
MAX_SEED = 2 ** 32 - 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def cell_id(kind: str, settings: dict[str, Any]) -> str:
    """Stable id: sha256 of the canonical JSON of kind + the settings that determine the result
    (all but `NOT_IN_ID`), 16 hex digits. The code version and the table are not part of it: they
    are in every record, and a record of another table is not reused (see grid.store)."""
    determining = {k: v for k, v in settings.items() if k not in NOT_IN_ID}
    blob = json.dumps({"kind": kind, **determining}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def legacy_cell_id(kind: str, settings: dict[str, Any]) -> str:
    """The id a cell had before `NOT_IN_ID` existed (every setting hashed): records written then are
    still bound to their settings by it."""
    blob = json.dumps({"kind": kind, **settings}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_cell(kind: str, settings: dict[str, Any]) -> Cell:
    return Cell(kind, settings, cell_id(kind, settings))


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    description: str
    cells: tuple[Cell, ...]
    text: str = field(repr=False)

    def __len__(self) -> int:
        return len(self.cells)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _seeds(value: Any, where: str, problems: list[str]) -> list[int]:
    """`seeds = 10` means seeds 0..9; a list is taken as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            problems.append(f"{where}: seeds = {value}: give a count >= 1 or a list of seeds")
            return []
        if value > MAX_CELLS:  # counted, never materialised
            problems.append(f"{where}: seeds = {value}: more than the {MAX_CELLS} cells one spec may hold; split it")
            return []
        return list(range(value))
    seeds = _as_list(value)
    if len(seeds) > MAX_CELLS:
        problems.append(f"{where}: {len(seeds)} seeds: more than the {MAX_CELLS} cells one spec may hold; split it")
        return []
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= MAX_SEED]
    if bad or not seeds:
        shown = f"{bad[0]!r}" if bad else "[]"
        problems.append(f"{where}: seeds must be a count or a non-empty list of integers in 0..{MAX_SEED}, "
                        f"got {shown}")
        return []
    if len(set(seeds)) != len(seeds):
        problems.append(f"{where}: seeds repeat: {seeds}")
    return seeds


def _signature(factory: Any) -> list[inspect.Parameter] | None:
    """The keyword parameters `factory` (or the callable it lazily resolves to) takes; None when it
    cannot be told without failing (a plugin whose module does not import is reported when its cell
    runs) or when it takes any keyword (**kwargs)."""
    target = factory
    resolve = getattr(factory, "resolve", None)
    if callable(resolve):
        try:
            target = resolve()
        except Exception:
            return None
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return params


def _accepts(factory: Any, names: Iterable[str]) -> list[str]:
    """The keyword arguments among `names` that `factory` would reject ([] when it cannot be told)."""
    params = _signature(factory)
    if params is None:
        return []
    known = {p.name for p in params}
    return [n for n in names if n not in known]


_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "dict": (dict,), "list": (list,),
          "None": (type(None),)}


def _value_problem(param: inspect.Parameter, value: Any) -> str | None:
    """What is wrong with `value` for `param`, judged from its annotation (int, float, str, bool,
    dict, None and unions of them) and its default: an integer setting whose default is a
    non-negative integer is a count or a seed and must be >= 0."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    annotation = param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", "")
    tokens = [t.strip() for t in str(annotation).split("|")] if annotation else []
    if tokens and all(t in _TYPES for t in tokens):
        allowed = tuple(k for t in tokens for k in _TYPES[t])
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and bool not in allowed):
            return f"must be {' or '.join(tokens)}, got {value!r}"
    default = param.default
    if (isinstance(default, int) and not isinstance(default, bool) and default >= 0
            and isinstance(value, int) and not isinstance(value, bool) and value < 0):
        return f"must be >= 0, got {value}"
    return None


def check_settings(plugins: Any, kind: str, name: str, kwargs: dict[str, Any], fixed: dict[str, Any] | None = None,
                   depth: int = 0) -> list[str]:
    """Problems of the keyword settings `kwargs` for plugin `name` of `kind`: names it does not take
    and values of the wrong type or sign, at every nesting level: `loss_kwargs` are checked against
    the loss the predictor will use, `base_kwargs` against its base predictor, and so on for any
    `X_kwargs` whose `X` names a plugin. `fixed`: settings the framework passes (e.g. the loss)."""
    registry = plugins.registry(kind)
    if not isinstance(name, str) or name not in registry or depth > 4:
        return []
    params = _signature(registry.get(name).factory)
    if params is None:
        return []
    by_name = {p.name: p for p in params}
    out = [f"{kind} {name!r} takes no {key!r}" for key in kwargs if key not in by_name]
    merged = {**{p.name: p.default for p in params if p.default is not inspect.Parameter.empty}, **(fixed or {}), **kwargs}
    for key, value in kwargs.items():
        if key not in by_name:
            continue
        problem = _value_problem(by_name[key], value)
        if problem:
            out.append(f"{kind} {name!r}: {key} {problem}")
        elif key.endswith("_kwargs") and isinstance(value, dict):
            target = merged.get(key[: -len("_kwargs")])
            for sub_kind in ("loss", "predictor", "search") if isinstance(target, str) else ():
                if target in plugins.registry(sub_kind):
                    out += [f"{p} (in {key})" for p in check_settings(plugins, sub_kind, target, value, None, depth + 1)]
                    break
    return out


def settings_problem(plugins: Any, kind: str, name: str, kwargs: dict[str, Any], option: str) -> str | None:
    """The CLI's check of `--set` / `--search-set` values: the spec's (`check_settings`), as one line."""
    problems = check_settings(plugins, kind, name, kwargs)
    return f"{option}: {'; '.join(problems)}" if problems else None


def space_problem(plugins: Any, name: Any, sp: Any) -> str | None:
    """Why predictor `name` cannot work on the space `sp` (None when it can, or when it cannot be told
    without building it). A predictor class says so through an optional static method
    ``check_space(space)`` that raises UserError for a space it cannot encode (e.g. one without a DAG)."""
    if not isinstance(name, str) or name not in plugins.predictors:
        return None
    factory = plugins.predictors.get(name).factory
    resolve = getattr(factory, "resolve", None)
    try:
        target = resolve() if callable(resolve) else factory
    except Exception:
        return None  # a plugin that does not import is reported when its cell runs
    check = getattr(target, "check_space", None)
    if not callable(check):
        return None
    try:
        check(sp)
    except UserError as exc:
        return f"predictor {name!r} cannot run on space {getattr(sp, 'name', sp)!r}: {exc}"
    except Exception:
        return None
    return None


class _Checker:
    """Collects problems of one block while turning its values into cross-product axes."""

    def __init__(self, where: str, problems: list[str], plugins: Any, benchmark: Any = None):
        self.where = where
        self.problems = problems
        self.plugins = plugins
        self.benchmark = benchmark  # the block's space's benchmark; None for NAS-Bench-201

    def bad(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def names(self, key: str, value: Any, kind: str, allow_none: bool) -> list[Any]:
        values = _as_list(value)
        if not values:
            self.bad(f"{key} is empty")
            return []
        registry = self.plugins.registry(kind)
        if allow_none:
            values = [None if v == NO_PREDICTOR else v for v in values]
        for v in values:
            if v is None and allow_none:
                continue
            if not isinstance(v, str) or not v:
                self.bad(f"{key}: {v!r} is not a {kind} name")
            elif v in registry.clashes():
                self.bad(registry.clash(v))
            elif v not in registry:
                close = difflib.get_close_matches(v, registry.names(), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                failed = "".join(f"; plugin {p!r} failed to load ({why})" for p, why in sorted(registry.failed.items()))
                self.bad(f"unknown {kind} {v!r}{hint}; known: {', '.join(registry.names()) or '(none)'}{failed}")
        return values

    def dataset(self, key: str, value: Any) -> list[str]:
        out = []
        values = _as_list(value)
        if not values:
            self.bad(f"{key} is empty")
        for v in values:
            try:
                out.append(bench.canonical_dataset(v) if self.benchmark is None else self.benchmark.canonical_dataset(v))
            except UserError as exc:
                self.bad(f"{key}: {exc}")
        return out

    def choice(self, key: str, value: Any, allowed: Iterable[str]) -> list[str]:
        allowed = tuple(allowed)
        values = _as_list(value)
        for v in values:
            if v not in allowed:
                self.bad(f"{key} = {v!r}: must be one of {', '.join(allowed)}")
        return values

    def positive_int(self, key: str, value: Any, allow: tuple[str, ...] = (), maximum: int = space.N_CELLS,
                     minimum: int = 1) -> list[Any]:
        values = _as_list(value)
        for v in values:
            if v in allow:
                continue
            if not _count(v) or v < minimum or v > maximum:
                extra = f" or {' or '.join(map(repr, allow))}" if allow else ""
                self.bad(f"{key} = {v!r}: must be an integer in {minimum}..{maximum}{extra}")
        return values

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(f"{key} must be a table of keyword arguments, got {value!r}")
            return {}
        return value

    def kwargs_of(self, kind: str, names: list[Any], kwargs: dict[str, Any], key: str,
                  fixed: list[dict[str, Any]] | None = None) -> None:
        """Check `kwargs` for every plugin in `names`, once per framework-given setting in `fixed`."""
        seen = set()
        for name in names:
            for given in fixed or [{}]:
                for problem in check_settings(self.plugins, kind, name, kwargs, given):
                    if problem not in seen:
                        seen.add(problem)
                        self.bad(f"{problem} ({key})")

    def search_start(self, names: list[Any], kwargs: dict[str, Any], budgets: list[Any]) -> None:
        """A strategy's `init` (its random start) must fit the budget; `pool` is a count or 'all'."""
        from ..strategies.base import check_pool

        if "pool" in kwargs:
            try:
                check_pool(kwargs["pool"])
            except UserError as exc:
                self.bad(f"search_kwargs: {exc}")
        registry = self.plugins.searches
        for name in names:
            if not isinstance(name, str) or name not in registry:
                continue
            params = {p.name: p for p in _signature(registry.get(name).factory) or []}
            init = kwargs.get("init", params["init"].default if "init" in params else None)
            if not isinstance(init, int) or isinstance(init, bool):
                continue
            for budget in budgets:
                if _count(budget) and init > budget:
                    self.bad(f"search {name!r} starts with init = {init} cells, more than budget = {budget}")

    def takes_loss(self, names: list[Any], losses: list[Any]) -> None:
        if not any(loss is not None for loss in losses):
            return
        for name in names:
            if isinstance(name, str) and name in self.plugins.predictors:
                if _accepts(self.plugins.predictors.get(name).factory, ["loss"]):
                    self.bad(f"predictor {name!r} takes no loss (losses = {losses})")


#: Pools of a space other than NAS-Bench-201 (`unique` is the NB201 table's unique_id).
SPACE_POOLS: tuple[str, ...] = ("functional", "full")


def _block_benchmark(check: "_Checker", name: Any, kind: str) -> Any:
    """The benchmark of a block's `space` (None for nb201), or False after reporting a problem."""
    if name == DEFAULT_SPACE:
        return None
    from .. import spaces

    if not isinstance(name, str) or not name:
        check.bad(f"space must be one space name (one block per space), got {name!r}")
        return False
    if name not in spaces.names():
        close = difflib.get_close_matches(name, spaces.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        check.bad(f"unknown space {name!r}{hint}; known: {', '.join(spaces.names())}")
        return False
    try:
        from ..quality.protocol import load_benchmark

        return load_benchmark(name)
    except UserError as exc:
        check.bad(f"space {name!r}: {exc}")
        return False


def _pool_size(bm: Any, sources: list[str], pool: str) -> int:
    """The smallest pool among the block's source datasets (their spaces can differ: a subspace)."""
    from ..quality.protocol import space_pool

    return min(len(space_pool(bm.space_of(src), pool)) for src in sources) if sources else bm.space.size


def _apply_protocol(check: "_Checker", values: dict[str, Any], block: dict[str, Any], bm: Any) -> str | None:
    """Put the settings of the block's named protocol into `values` where the block itself does not
    write them; the protocol's name, None without one, or False after reporting a problem."""
    from ..quality.protocol import NB201_ONLY_PROTOCOLS, PROTOCOLS, protocol_settings

    name = values["protocol"]
    if name is None:
        return None
    if not isinstance(name, str):
        check.bad(f"protocol must be one protocol name (one block per protocol), got {name!r}")
        return False
    if name not in PROTOCOLS:
        close = difflib.get_close_matches(name, list(PROTOCOLS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        check.bad(f"protocol = {name!r}: must be one of {', '.join(PROTOCOLS)}{hint}")
        return False
    if bm is not None and name in NB201_ONLY_PROTOCOLS:
        check.bad(f"protocol {name!r} is defined on nb201 only, not on space {values['space']!r}; "
                  f"use protocol = 'functional' or set the pool and sizes")
        return False
    fixed = protocol_settings(name)
    for key in PROTOCOL_KEYS:
        if key not in block:
            values[key] = list(fixed[key]) if key == "n_train" else fixed[key]
    if "metric" in block and "score_metric" not in block:
        values["score_metric"] = None  # as `eval --metric`: scored on the metric it is trained on
    return name


def _expand_block(kind: str, index: int, block: Any, defaults: dict[str, Any], problems: list[str], plugins: Any) -> list[Cell]:
    where = f"[[{kind}]] #{index + 1}"
    n_before = len(problems)
    check = _Checker(where, problems, plugins)
    if not isinstance(block, dict):
        check.bad("must be a table")
        return []
    allowed = BLOCK_KEYS[kind]
    merged = {**{k: v for k, v in defaults.items() if k in allowed}, **block}
    for key in block:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            check.bad(f"unknown setting {key!r}{hint}; known: {', '.join(allowed)}")
    values = {k: merged.get(k, default) for k, default in allowed.items()}
    required = "predictors" if kind == "eval" else "searches"
    if values[required] is None:
        check.bad(f"{required} is required")
        return []
    space_name = values["space"]
    bm = _block_benchmark(check, space_name, kind)
    if bm is False:
        return []
    if bm is not None:  # NB201's defaults become the space's
        first = bm.datasets[0]
        for key, fallback in (("source", first), ("targets", [first]), ("datasets", [first]), ("metric", bm.default_metric)):
            if key in allowed and key not in merged:
                values[key] = fallback
        check.benchmark = bm
    size = space.N_CELLS if bm is None else bm.space.size
    protocol = _apply_protocol(check, values, block, bm) if kind == "eval" else None
    if protocol is False:
        return []

    axes: dict[str, list[Any]] = {}
    axes["predictor"] = check.names("predictors", values["predictors"], "predictor", allow_none=kind == "search")
    axes["loss"] = check.names("losses", values["losses"], "loss", allow_none=True)
    axes["source"] = check.dataset("source", values["source"])
    axes["n_train"] = check.positive_int("n_train", values["n_train"], maximum=size, minimum=2)  # a fit needs two cells
    axes["metric"] = check.choice("metric", values["metric"], bench.METRICS if bm is None else tuple(bm.metrics))
    seeds = _seeds(values["seeds"], where, problems)
    pkw = check.table("predictor_kwargs", values["predictor_kwargs"])
    check.kwargs_of("predictor", axes["predictor"], pkw, "predictor_kwargs",
                    [{"loss": loss} if loss is not None else {} for loss in axes["loss"]])
    check.takes_loss(axes["predictor"], axes["loss"])
    if bm is not None:
        for name in dict.fromkeys(axes["predictor"]):
            problem = space_problem(plugins, name, bm.space)
            if problem:
                check.bad(problem)
    if kind == "eval":
        targets = check.dataset("targets", values["targets"])
        if len(set(targets)) != len(targets):
            check.bad(f"targets repeat: {targets}")
        axes["pool"] = check.choice("pool", values["pool"], POOLS if bm is None else SPACE_POOLS)
        metrics = bench.METRICS if bm is None else tuple(bm.metrics)
        axes["score_metric"] = [None] if values["score_metric"] is None else check.choice(
            "score_metric", values["score_metric"], metrics)
        axes["n_test"] = check.positive_int("n_test", values["n_test"], allow=("rest", "all"), maximum=size,
                                            minimum=2)  # a rank needs two
        if not isinstance(values["save_predictions"], bool):
            check.bad(f"save_predictions must be true or false, got {values['save_predictions']!r}")
        for pool, n_train, n_test in itertools.product(axes["pool"], axes["n_train"], axes["n_test"]):
            if pool not in POOLS or not _count(n_train) or not (n_test in ("rest", "all") or _count(n_test)):
                continue  # already reported
            if bm is not None and pool not in SPACE_POOLS:
                continue  # already reported
            size = POOLS[pool] if bm is None else _pool_size(bm, axes["source"], pool)
            if n_test == "all" and n_train >= size:
                check.bad(f"n_train {n_train} is not less than the {size} cells of pool {pool!r}")
            elif n_test == "rest" and n_train >= size:
                check.bad(f"n_train {n_train} leaves no test cells in pool {pool!r}")
            elif n_test not in ("rest", "all") and n_train + n_test > size:
                check.bad(f"n_train {n_train} + n_test {n_test} > {size} cells in pool {pool!r}")
    else:
        axes["search"] = check.names("searches", values["searches"], "search", allow_none=False)
        axes["dataset"] = check.dataset("datasets", values["datasets"])
        axes["mode"] = check.choice("modes", values["modes"], MODES)
        axes["budget"] = check.positive_int("budget", values["budget"], maximum=size)
        skw = check.table("search_kwargs", values["search_kwargs"])
        check.kwargs_of("search", axes["search"], skw, "search_kwargs")
        check.search_start(axes["search"], skw, axes["budget"])
        if not isinstance(values["in_process"], bool):
            check.bad(f"in_process must be true or false, got {values['in_process']!r}")
        for problem in search_options.problems(values, bm, axes["dataset"], axes["metric"], axes["budget"]):
            check.bad(problem)
        labels = values["labels"] if isinstance(values["labels"], list) else [values["labels"]]
        axes[search_options.CELL_KEY] = labels
    if len(problems) > n_before:
        return []

    n_cells = len(seeds)
    for axis in axes.values():
        n_cells *= len(axis)
    if n_cells > MAX_CELLS:
        check.bad(f"expands to {n_cells} cells, more than the {MAX_CELLS} one spec may hold; split it")
        return []
    cells, seen = [], set()
    names = list(axes)
    for combo in itertools.product(*(axes[n] for n in names)):
        s = dict(zip(names, combo))
        if bm is not None:  # NB201 cells do not name their space: their ids stay what they were
            s["space"] = space_name
        if kind == "eval":
            s.update(targets=targets, predictor_kwargs=pkw, save_predictions=values["save_predictions"])
            if s["score_metric"] in (None, s["metric"]):  # named only when it differs: ids stay what they were
                del s["score_metric"]
            if protocol and _named(protocol, s):  # named only when set and kept: ids stay what they were
                s["protocol"] = protocol
        else:
            s.update(predictor_kwargs=pkw, search_kwargs=skw, **search_options.fixed(values))
            if s[search_options.CELL_KEY] == "mean":  # the default: cells written before labels keep their ids
                del s[search_options.CELL_KEY]
            if values["in_process"] is True:  # named only when set: the ids of isolated cells stay what they were
                s["in_process"] = True
            if s["predictor"] is None:  # a predictor-free search: predictor settings do not apply
                s.update(loss=None, source=None, mode=None, n_train=None, predictor_kwargs={})
        for seed in seeds:
            cell = make_cell(kind, {**s, "seed": seed})
            if cell.id not in seen:  # predictor-free searches collapse the predictor axes
                seen.add(cell.id)
                cells.append(cell)
    return cells


def _named(protocol: str, settings: dict[str, Any]) -> bool:
    """Whether an eval cell's settings are those `protocol` fixes (`quality.protocol.named_protocol`)."""
    from ..quality.protocol import named_protocol

    return named_protocol(protocol, pool=settings["pool"], metric=settings["metric"],
                          score_metric=settings.get("score_metric"), n_train=settings["n_train"],
                          n_test=settings["n_test"]) == protocol


def expand(data: dict[str, Any], path: str = "<spec>", plugins: Any = None) -> tuple[list[Cell], list[str]]:
    """Cells of a parsed spec and the list of its problems (cells are only valid when none)."""
    if plugins is None:
        from ..plugins import get_plugins

        plugins = get_plugins()
    problems: list[str] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown top-level key {key!r}{hint}; known: {', '.join(TOP_LEVEL_KEYS)}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append("[defaults] must be a table")
        defaults = {}
    for key in defaults:
        if not any(key in keys for keys in BLOCK_KEYS.values()):
            problems.append(f"[defaults]: unknown setting {key!r}")
    cells: list[Cell] = []
    for kind in KINDS:
        blocks = data.get(kind, [])
        if not isinstance(blocks, list):
            problems.append(f"{kind} must be written [[{kind}]] (an array of tables)")
            continue
        for i, block in enumerate(blocks):
            cells += _expand_block(kind, i, block, defaults, problems, plugins)
    if not any(data.get(k) for k in KINDS) and not problems:
        problems.append(f"no cells: add at least one [[eval]] or [[search]] block")
    if len(cells) > MAX_CELLS:
        problems.append(f"the spec expands to {len(cells)} cells, more than the {MAX_CELLS} one spec may hold; split it")
    cells.sort(key=lambda c: c.settings["seed"])  # seed-major: a partial grid covers every configuration
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.id in seen:
            problems.append(f"cell {cell.label()} appears twice (overlapping blocks)")
        seen[cell.id] = cell
    return cells, problems


def load(path: str | Path, plugins: Any = None) -> Spec:
    """Read, check and expand a spec file; raise SpecError listing every problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UserError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"spec {path} is not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), [f"not valid TOML: {exc}"]) from None
    cells, problems = expand(data, str(path), plugins)
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        problems.append(f"name must be letters, digits, '.', '_' or '-' (a folder name under results/, "
                        f"starting with a letter or digit, no '..'), got {name!r}")
    if problems:
        raise SpecError(str(path), problems)
    return Spec(path=path, name=name, description=str(data.get("description", "")), cells=tuple(cells), text=text)
