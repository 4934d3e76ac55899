import inspect
import subprocess
import sys
import textwrap

import pytest

from nasbench_rank import hookspecs, plugins
from nasbench_rank.errors import PluginError
from nasbench_rank.hookspecs import hookimpl


class _Toy:
    def __init__(self, scale: float = 1.0):
        self.scale = scale


def test_register_predictors_hook_adds_a_third_party_predictor():
    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("toy", _Toy, "a toy")

    loaded = plugins.load_plugins(("toy-plugin", Plugin()))
    entry = loaded.predictors.get("toy")
    assert entry.source == "(registered in code)" and entry.description == "a toy"
    assert loaded.predictors.create("toy", scale=2.0).scale == 2.0
    assert "xgb" in loaded.predictors  # built-ins are still there


def test_register_losses_hook_registers_the_builtin_losses():
    loaded = plugins.load_plugins()
    assert {"mse", "rank", "mixed", "listnet"} <= set(loaded.losses.names())
    assert loaded.losses.get("rank").source == "nasbench-rank (built-in)"


def test_register_searches_hook_registers_the_builtin_searches():
    loaded = plugins.load_plugins()
    assert {"random", "topk", "evolution"} <= set(loaded.searches.names())


def test_register_spaces_hook_adds_a_third_party_space_beside_the_builtins():
    from toy_space import BitBenchmark

    class Plugin:
        @hookimpl
        def register_spaces(self, register):
            register("bits", BitBenchmark, "3-bit strings")

    loaded = plugins.load_plugins(("toy-spaces", Plugin()))
    assert {"nb201", "nbgraph", "fcnet", "bits"} <= set(loaded.spaces.names())
    bm = loaded.spaces.create("bits")
    assert bm.optimum("ones").ordinal == 0 and bm.space.format(bm.space.element(5)) == "101"


def test_every_hook_has_a_test():
    hooks = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]
    tests = [name for name in globals() if name.startswith("test_")]
    untested = [h for h in hooks if not any(h in t for t in tests)]
    assert hooks and not untested


def test_a_clash_names_both_sources_and_the_way_out_and_other_names_keep_working():
    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("xgb", _Toy)
            register("toy", _Toy)

    loaded = plugins.load_plugins(("dup", Plugin()))  # loading does not fail
    message = (r"predictor 'xgb' is registered twice: by nasbench-rank \(built-in\) \(plugin 'nasbench_rank.builtin.predictors'\)"
               r" and by \(registered in code\) \(plugin 'dup'\); uninstall one, or block one by its plugin name with "
               r"NASBENCH_RANK_BLOCK_PLUGINS")
    with pytest.raises(PluginError, match=message):
        loaded.predictors.get("xgb")
    with pytest.raises(PluginError, match=message):
        loaded.predictors.create("xgb")
    assert "xgb" not in loaded.predictors and loaded.predictors.clashes() == ["xgb"]
    assert loaded.predictors.create("toy").__class__ is _Toy and "mlp" in loaded.predictors
    assert "registered twice" in loaded.clashes["predictor xgb"] and loaded.errors == {}


def test_a_clash_fails_only_the_specs_that_use_the_name(tmp_path):
    from nasbench_rank.grid import spec

    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("xgb", _Toy)

    loaded = plugins.load_plugins(("dup", Plugin()))
    path = tmp_path / "s.toml"
    path.write_text('[[eval]]\npredictors = ["mlp"]\n')
    assert len(spec.load(path, plugins=loaded)) == 1
    path.write_text('[[eval]]\npredictors = ["xgb"]\n')
    with pytest.raises(spec.SpecError, match="'xgb' is registered twice"):
        spec.load(path, plugins=loaded)


def test_an_unknown_name_says_which_plugins_failed_to_load(tmp_path, monkeypatch):
    (tmp_path / "knn_plugin.py").write_text("import sklearn_knn_that_is_missing\n")
    _fake_distribution(tmp_path, "knn-dist", {"knn": "knn_plugin"})
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = plugins.load_plugins()
    with pytest.raises(PluginError, match=r"unknown predictor 'knn'\..* Plugin 'knn' failed to load "
                                          r"\(ModuleNotFoundError: No module named 'sklearn_knn_that_is_missing'\)"):
        loaded.predictors.get("knn")
    from nasbench_rank.grid import spec

    path = tmp_path / "s.toml"
    path.write_text('[[eval]]\npredictors = ["knn"]\n')
    with pytest.raises(spec.SpecError, match="plugin 'knn' failed to load"):
        spec.load(path, plugins=loaded)


def test_unknown_name_lists_known_names_and_the_closest_match():
    loaded = plugins.load_plugins()
    with pytest.raises(PluginError, match=r"unknown predictor 'act-rnak'\. Did you mean 'act-rank'\? Known: .*xgb"):
        loaded.predictors.get("act-rnak")


def test_bad_settings_are_a_plugin_error_naming_the_plugin():
    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("toy", _Toy)

    loaded = plugins.load_plugins(("toy-plugin", Plugin()))
    with pytest.raises(PluginError, match="predictor 'toy' rejected its settings"):
        loaded.predictors.create("toy", colour="red")


def test_a_plugin_whose_hook_raises_is_reported_and_the_rest_keep_working():
    class Broken:
        @hookimpl
        def register_searches(self, register):
            raise RuntimeError("boom")

    loaded = plugins.load_plugins(("broken", Broken()))
    assert loaded.errors == {"broken": "RuntimeError: boom"}
    assert "random" in loaded.searches


def test_blocked_plugins_are_not_loaded(monkeypatch):
    monkeypatch.setenv(plugins.BLOCK_ENV, "nasbench_rank.builtin.strategies, toy-plugin")

    class Plugin:
        @hookimpl
        def register_predictors(self, register):
            register("toy", _Toy)

    loaded = plugins.load_plugins(("toy-plugin", Plugin()))
    assert len(loaded.searches) == 0 and "toy" not in loaded.predictors
    assert "xgb" in loaded.predictors
    assert loaded.blocked == ("nasbench_rank.builtin.strategies", "toy-plugin")


def test_lazy_factory_applies_presets_and_caller_overrides():
    factory = plugins.lazy("collections:Counter", a=1)
    assert factory(b=2) == {"a": 1, "b": 2}
    assert factory(a=5)["a"] == 5


def _run(code: str, env_path=None) -> str:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True).stdout


def test_registering_imports_no_torch_or_xgboost():
    out = _run(
        """
        import sys
        from nasbench_rank.plugins import get_plugins
        loaded = get_plugins()
        assert len(loaded.predictors) > 0
        print(sorted(m for m in ("torch", "xgboost", "sklearn") if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


def _fake_distribution(root, name, entry_points):
    dist = root / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[nasbench_rank]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))


def test_entry_point_plugins_are_discovered_and_a_broken_one_is_reported(tmp_path, monkeypatch):
    (tmp_path / "good_plugin.py").write_text(textwrap.dedent(
        """
        from nasbench_rank.hookspecs import hookimpl

        class Const:
            def __init__(self, value=0.5):
                self.value = value

        @hookimpl
        def register_predictors(register):
            register("const", Const, "constant")
        """
    ))
    (tmp_path / "bad_plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    _fake_distribution(tmp_path, "good-dist", {"good": "good_plugin"})
    _fake_distribution(tmp_path, "bad-dist", {"bad": "bad_plugin"})
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = plugins.load_plugins()
    entry = loaded.predictors.get("const")
    assert (entry.source, entry.version) == ("good-dist", "0.1")
    assert loaded.errors["bad"] == "ImportError: needs a library that is not installed"
    assert "xgb" in loaded.predictors


def test_example_ridge_plugin_is_installed_and_predicts(table):
    """The example distribution under plugins/ is installed (by .ci/run) and found by its entry point."""
    import numpy as np

    loaded = plugins.load_plugins()
    entry = loaded.predictors.get("ridge")
    assert entry.source == "nasbench-rank-ridge"
    y = table.accuracy("cifar10", "valid", fraction=True)
    model = loaded.predictors.create("ridge").fit(table.cells[:500], y[:500])
    pred = model.predict(table.cells[500:1000])
    assert pred.shape == (500,) and np.corrcoef(pred, y[500:1000])[0, 1] > 0.5
