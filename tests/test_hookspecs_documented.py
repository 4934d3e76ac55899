"""The hooks are documented where they are declared, and what their docstrings promise is what the
framework calls: the example in each docstring runs, and every attribute the framework reads from a
plugin object is one the docstring names."""

import inspect
import re
import sys
import textwrap

import numpy as np
import pluggy
import pytest

from nasbench_rank import hookspecs, plugins
from nasbench_rank.hookspecs import hookimpl

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, pluggy.HookspecMarker(hookspecs.PROJECT).project_name + "_spec")]


def _doc(hook: str) -> str:
    return inspect.getdoc(getattr(hookspecs, hook))


def _named(hook: str) -> set[str]:
    """Every identifier the docstring shows in backticks or code blocks."""
    doc = _doc(hook)
    quoted = " ".join(re.findall(r"`([^`]+)`", doc)) + " " + " ".join(_code_blocks(doc))
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", quoted))


def _code_blocks(doc: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S)]


def _example(hook: str) -> dict:
    blocks = _code_blocks(_doc(hook))
    assert len(blocks) == 1, f"{hook}: expected one python example, found {len(blocks)}"
    namespace: dict = {"__name__": f"hookspec_example_{hook}"}
    exec(compile(blocks[0], f"<{hook} docstring>", "exec"), namespace)
    return namespace


def _spied(cls: type, log: set) -> type:
    """A subclass recording every public attribute that code of the package reads from an instance."""

    class Spied(cls):
        def __getattribute__(self, name):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not name.startswith("__") and caller.startswith("nasbench_rank"):
                log.add(name)
            return super().__getattribute__(name)

    Spied.__name__ = Spied.__qualname__ = cls.__name__
    return Spied


def _in_process(function) -> dict:
    """The spies record what this process reads: run the plugin here where plugins may run elsewhere."""
    return {"isolation": "in-process"} if "isolation" in inspect.signature(function).parameters else {}


@pytest.fixture
def with_plugin(monkeypatch):
    """Register a plugin object in this process, as if it were installed, for the whole package."""
    original = plugins.build_manager

    def install(name: str, plugin: object) -> None:
        monkeypatch.setattr(plugins, "build_manager", lambda extra=(): original(tuple(extra) + ((name, plugin),)))
        plugins.get_plugins.cache_clear()

    yield install
    plugins.get_plugins.cache_clear()


def test_every_hook_is_declared_documented_and_loaded_by_the_registry():
    assert sorted(HOOKS) == ["register_losses", "register_predictors", "register_searches", "register_spaces"]
    assert set(plugins._HOOK_OF_KIND.values()) == set(HOOKS)
    for hook in HOOKS:
        doc = _doc(hook)
        assert len(doc) > 400, f"{hook} is not documented"
        assert "factory(**settings)" in doc, f"{hook} does not say what its factory returns"
    module = inspect.getdoc(hookspecs)
    assert "register(name, factory, description=\"\")" in module and "nasbench_rank" in module


def test_register_searches_documents_the_methods_and_view_the_runner_uses():
    from nasbench_rank.loop import SearchView, Strategy

    named = _named("register_searches")
    assert {"ask", "tell", "view", "n", "observations", "Request", "Observation"} <= named
    base = {n for n in vars(Strategy) if not n.startswith("_")} | {"tell", "ask"}
    assert base <= named | {"needs_std"}
    view = SearchView(np.random.default_rng(0), None, evals_left=5)
    for attr in re.findall(r"view\.([a-z_]+)", _doc("register_searches")):
        assert hasattr(view, attr), f"the docstring names view.{attr}, which SearchView lacks"
    for attr in re.findall(r"view\.space\.([a-z_]+)", _doc("register_searches")):
        assert hasattr(view.space, attr), f"the docstring names view.space.{attr}, which SpaceView lacks"
    for attr in ("sample", "neighbours", "element", "ordinal"):
        assert hasattr(view.space, attr)


def test_register_searches_example_runs_through_run_search_and_is_read_only_as_documented(with_plugin, table):
    from nasbench_rank.loop.runs import run_search

    example = _example("register_searches")
    log: set[str] = set()
    strategy = _spied(example["BestScoredRandom"], log)

    class Plugin:
        @hookimpl
        def register_searches(self, register):
            register("doc-strategy", strategy, "the docstring's example")

    with_plugin("doc", Plugin())
    run, trace = run_search("xgb", "doc-strategy", mode="online", budget=12, predictor_kwargs={"n_estimators": 10},
                            search_kwargs={"pool": 20}, table=table, workers=2, **_in_process(run_search))
    assert run["evals"] == 12 and len(trace) == 12
    assert {"ask", "tell"} <= log, log
    undocumented = log - _named("register_searches")
    assert not undocumented, f"the framework reads {sorted(undocumented)} from a strategy; the docstring does not name them"


def test_register_predictors_example_runs_in_eval_and_search_and_is_read_only_as_documented(with_plugin, table):
    from nasbench_rank.quality.protocol import evaluate_predictor
    from nasbench_rank.loop.runs import run_search

    example = _example("register_predictors")
    log: set[str] = set()
    predictor = _spied(example["OneHotRidge"], log)

    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("doc-predictor", predictor, "the docstring's example")

    with_plugin("doc", Plugin())
    rows = evaluate_predictor("doc-predictor", pool="functional", n_train=100, n_test=200, metric="valid",
                              targets=("cifar10",), table=table, **_in_process(evaluate_predictor))
    assert rows[0]["kendall"] > 0.3  # a linear model of the edges' ops ranks cells far better than chance
    run, _ = run_search("doc-predictor", "topk", mode="online", budget=15, search_kwargs={"init": 5, "pool": 50},
                        table=table, **_in_process(run_search))
    assert run["n_fits"] >= 1
    assert {"fit", "predict", "get_params", "set_params"} <= log, log
    undocumented = log - _named("register_predictors")
    assert not undocumented, f"the framework reads {sorted(undocumented)} from a predictor; the docstring does not name them"


def test_register_predictors_documents_the_shape_of_any_space_not_only_nb201():
    doc = _doc("register_predictors")
    assert "(n, width)" in doc and "float32" in doc and "utilities" in doc
    assert "(n, 6)" not in doc


def test_register_losses_example_and_the_call_the_predictors_make_match_the_documented_signature(with_plugin):
    import torch

    example = _example("register_losses")
    out = example["HuberLoss"]()(torch.zeros(4, requires_grad=True), torch.ones(4))
    assert out.ndim == 0 and out.requires_grad
    calls = []

    def spy_loss(**settings):
        inner = example["HuberLoss"](**settings)

        def loss(pred, target):
            calls.append((pred.ndim, target.ndim, pred.shape == target.shape, pred.dtype.is_floating_point,
                          target.dtype.is_floating_point))
            result = inner(pred, target)
            assert result.ndim == 0
            return result

        return loss

    class Plugin:
        @hookimpl
        def register_losses(self, register):
            register("doc-loss", spy_loss, "the docstring's example, recording its calls")

    with_plugin("doc", Plugin())
    from nasbench_rank.plugins import get_plugins

    model = get_plugins().predictors.create("mlp", loss="doc-loss", epochs=2)
    cells = np.random.default_rng(0).integers(0, 5, size=(64, 6))
    model.fit(cells, np.linspace(0.5, 0.9, 64, dtype=np.float32))
    assert calls and set(calls) == {(1, 1, True, True, True)}
    assert "pred" in _named("register_losses") and "target" in _named("register_losses")


def test_register_spaces_names_every_method_and_attribute_a_space_and_benchmark_must_define():
    from nasbench_rank.spaces import Benchmark, Space

    named = _named("register_spaces")
    assert set(Space.__abstractmethods__) <= named, set(Space.__abstractmethods__) - named
    assert set(Benchmark.__abstractmethods__) <= named, set(Benchmark.__abstractmethods__) - named
    assert set(Space.__annotations__) <= named, set(Space.__annotations__) - named
    assert {"name", "datasets", "metrics", "default_metric"} <= named
    for optional in ("dag", "equivalence_key"):
        assert optional in named and hasattr(Space, optional)
    for optional in ("per_seed", "checksum", "aliases", "cost_unit"):
        assert optional in named and hasattr(Benchmark, optional)
