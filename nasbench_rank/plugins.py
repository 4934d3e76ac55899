"""Plugin loading and the typed registries a plugin fills.

Loading is idempotent and cheap: built-in modules and entry points are imported, their hooks are
called with a `register` callback, and factories are stored; no model is built and no heavy library
is imported until `Registry.create` runs a factory.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import __version__, hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "nasbench_rank"
BLOCK_ENV = "NASBENCH_RANK_BLOCK_PLUGINS"
BUILTIN_PLUGINS: tuple[str, ...] = (
    "nasbench_rank.builtin.losses",
    "nasbench_rank.builtin.predictors",
    "nasbench_rank.builtin.strategies",
    "nasbench_rank.builtin.spaces",
)
KINDS = ("predictor", "loss", "search", "space")
_HOOK_OF_KIND = {"predictor": "register_predictors", "loss": "register_losses", "search": "register_searches",
                 "space": "register_spaces"}


class lazy:
    """A factory that imports ``"package.module:attr"`` on first call, then calls it with the preset
    keyword arguments updated by the caller's."""

    def __init__(self, target: str, **preset: Any):
        if ":" not in target:
            raise ValueError(f"lazy target must be 'module:attr', got {target!r}")
        self.target = target
        self.preset = preset

    def resolve(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def __call__(self, **kwargs: Any) -> Any:
        return self.resolve()(**{**self.preset, **kwargs})

    def __repr__(self) -> str:
        preset = "".join(f", {k}={v!r}" for k, v in self.preset.items())
        return f"lazy({self.target!r}{preset})"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    factory: Callable[..., Any]
    source: str  # distribution name, or the built-in module
    version: str
    description: str = ""
    plugin: str = ""  # the plugin that registered it: its entry point name (or built-in module)

    def origin(self) -> str:
        return f"{self.source} (plugin {self.plugin!r})" if self.plugin and self.plugin != self.source else self.source


class Registry:
    """Name -> Entry for one kind. A name registered twice is set aside: using it fails naming both
    sources and the way out, while every other name keeps working. An unknown name fails listing the
    known ones, the closest match and the plugins that failed to load."""

    def __init__(self, kind: str, failed: dict[str, str] | None = None):
        self.kind = kind
        self.prepare: Callable[[Any], Any] | None = None  # runs on every built object (predictors: injection)
        self._entries: dict[str, Entry] = {}
        self._clashes: dict[str, list[Entry]] = {}
        self.failed = failed if failed is not None else {}  # plugin name -> why it did not load

    def add(self, entry: Entry) -> str | None:
        """Register `entry`; when its name is taken, set the name aside and return the clash message."""
        if entry.name in self._entries:
            self._clashes[entry.name] = [self._entries.pop(entry.name)]
        if entry.name in self._clashes:
            self._clashes[entry.name].append(entry)
            return self.clash(entry.name)
        self._entries[entry.name] = entry
        return None

    def clash(self, name: str) -> str:
        entries = self._clashes[name]
        sources = " and by ".join(e.origin() for e in entries)
        plugins = ", ".join(repr(e.plugin) for e in entries if e.plugin)
        return (f"{self.kind} {name!r} is registered twice: by {sources}; uninstall one, or block one by its plugin "
                f"name with {BLOCK_ENV} (comma-separated; here: {plugins})")

    def clashes(self) -> list[str]:
        return sorted(self._clashes)

    def get(self, name: str) -> Entry:
        if name in self._clashes:
            raise PluginError(self.clash(name))
        if name not in self._entries:
            known = sorted(self._entries)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            failed = "".join(f" Plugin {p!r} failed to load ({why}); it may have provided it."
                             for p, why in sorted(self.failed.items()))
            raise PluginError(f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(known) or '(none)'}.{failed}")
        return self._entries[name]

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build the named plugin object; its own errors carry the plugin's name."""
        entry = self.get(name)
        try:
            built = entry.factory(**kwargs)
        except TypeError as exc:
            raise PluginError(f"{self.kind} {name!r} rejected its settings: {exc}") from None
        except ImportError as exc:
            raise PluginError(f"{self.kind} {name!r} cannot be loaded: {exc}") from None
        return self.prepare(built) if self.prepare is not None else built

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)


class InjectedLoss:
    """The loss a registry-built predictor trains with: the loss plugin `name` built with `kwargs`.

    ``built_for`` says which setting it was built for, so a predictor whose ``loss`` changed since can
    refuse it. Copies (``sklearn.base.clone``) share it: a loss holds settings, not fitted state."""

    def __init__(self, name: str, kwargs: dict[str, Any], fn: Callable[..., Any]):
        self.built_for = (name, dict(kwargs))
        self.fn = fn

    def __call__(self, pred: Any, target: Any) -> Any:
        return self.fn(pred, target)

    def __deepcopy__(self, memo: dict) -> "InjectedLoss":
        return self

    def __repr__(self) -> str:
        return f"InjectedLoss({self.built_for[0]!r})"


class MemberFactory:
    """Builds the registered predictor `name` with `kwargs` (an ensemble's members); ``built_for`` as
    in `InjectedLoss`."""

    def __init__(self, registry: "Registry", name: str, kwargs: dict[str, Any]):
        self.built_for = (name, dict(kwargs))
        self.registry = registry

    def __call__(self) -> Any:
        name, kwargs = self.built_for
        return self.registry.create(name, **kwargs)

    def __deepcopy__(self, memo: dict) -> "MemberFactory":
        return self

    def __repr__(self) -> str:
        return f"MemberFactory({self.built_for[0]!r})"


@dataclass
class Plugins:
    """Everything that loaded: one registry per kind, plus the plugins that failed and why."""

    predictors: Registry = field(default_factory=lambda: Registry("predictor"))
    losses: Registry = field(default_factory=lambda: Registry("loss"))
    searches: Registry = field(default_factory=lambda: Registry("search"))
    spaces: Registry = field(default_factory=lambda: Registry("space"))
    errors: dict[str, str] = field(default_factory=dict)  # plugin name -> one-line error
    blocked: tuple[str, ...] = ()
    clashes: dict[str, str] = field(default_factory=dict)  # "kind name" -> the clash message

    def __post_init__(self) -> None:
        for kind in KINDS:  # unknown-name messages name the plugins that failed to load
            self.registry(kind).failed = self.errors
        self.predictors.prepare = self.inject

    def inject(self, predictor: Any) -> Any:
        """Hand a built predictor what its settings name: a ``loss_fn`` for its ``loss`` (a loss
        plugin's name) and a ``make_member`` for its ``base`` (a predictor's name), where it declares
        them and they are unset."""
        state = getattr(predictor, "__dict__", {})
        if "loss_fn" in state and predictor.loss_fn is None and isinstance(state.get("loss"), str):
            kwargs = dict(state.get("loss_kwargs") or {})
            predictor.loss_fn = InjectedLoss(predictor.loss, kwargs, self.losses.create(predictor.loss, **kwargs))
        if "make_member" in state and predictor.make_member is None and isinstance(state.get("base"), str):
            predictor.make_member = MemberFactory(self.predictors, predictor.base, dict(state.get("base_kwargs") or {}))
        return predictor

    def registry(self, kind: str) -> Registry:
        return {"predictor": self.predictors, "loss": self.losses, "search": self.searches, "space": self.spaces}[kind]

    def entries(self) -> list[Entry]:
        return [e for kind in KINDS for e in self.registry(kind)]


def blocked_names() -> tuple[str, ...]:
    raw = os.environ.get(BLOCK_ENV, "")
    return tuple(n.strip() for n in raw.split(",") if n.strip())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def build_manager(extra: tuple[tuple[str, object], ...] = ()) -> tuple[pluggy.PluginManager, dict[str, tuple[str, str]], dict[str, str]]:
    """A plugin manager with built-ins, entry points and `extra` (name, plugin) pairs registered.

    Returns the manager, plugin name -> (source, version), and plugin name -> import error.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked_names():
        pm.set_blocked(name)
    sources: dict[str, tuple[str, str]] = {}
    errors: dict[str, str] = {}

    candidates: list[tuple[str, Callable[[], object], str, str]] = [
        (path, lambda p=path: importlib.import_module(p), "nasbench-rank (built-in)", __version__)
        for path in BUILTIN_PLUGINS
    ]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        candidates.append((ep.name, ep.load, dist, version))
    candidates.extend((name, lambda obj=obj: obj, "(registered in code)", "") for name, obj in extra)

    for name, loader, dist, version in candidates:
        if pm.is_blocked(name):
            continue
        try:
            plugin = loader()
            pm.register(plugin, name=name)
            pm.check_pending()
        except Exception as exc:  # a broken plugin must not take the others down
            if pm.has_plugin(name):
                pm.unregister(name=name)
            errors[name] = _one_line(exc)
            continue
        sources[name] = (dist, version)
    return pm, sources, errors


def collect(pm: pluggy.PluginManager, sources: dict[str, tuple[str, str]], errors: dict[str, str]) -> Plugins:
    """Call each plugin's register hooks with a callback that records which plugin registered what."""
    plugins = Plugins(errors=dict(errors), blocked=blocked_names())
    for kind in KINDS:
        registry = plugins.registry(kind)
        hook = getattr(pm.hook, _HOOK_OF_KIND[kind])
        for impl in hook.get_hookimpls():  # registration order
            dist, version = sources.get(impl.plugin_name, (impl.plugin_name, ""))

            def register(name: str, factory: Callable[..., Any], description: str = "", *, _d=dist, _v=version,
                         _p=impl.plugin_name) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(f"a {kind} name must be a non-empty string, got {name!r}")
                if not callable(factory):
                    raise PluginError(f"{kind} {name!r} from {_d}: factory is not callable")
                clash = registry.add(Entry(name, kind, factory, _d, _v, description, _p))
                if clash:
                    plugins.clashes[f"{kind} {name}"] = clash

            try:
                impl.function(register=register)
            except Exception as exc:  # a plugin's own mistake (bad name, raising hook) is its alone
                plugins.errors[impl.plugin_name] = _one_line(exc)
    return plugins


@lru_cache(maxsize=1)
def get_plugins() -> Plugins:
    """The process-wide plugins, loaded once."""
    return collect(*build_manager())


def load_plugins(*extra: tuple[str, object]) -> Plugins:
    """A fresh load (tests and embedding programs): built-ins, entry points and `extra` plugins."""
    return collect(*build_manager(tuple(extra)))
