import numpy as np
import pytest

from nasbench_rank.tables import nb201 as bench


@pytest.fixture(scope="session")
def table() -> bench.Table:
    return bench.load()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def knn_plugin(tmp_path_factory, monkeypatch):
    """The test plugin `knn_regressor_plugin` installed as pip would (a distribution whose entry point names
    it), and the process-wide plugins reloaded to find it; removed again afterwards."""
    import importlib

    from nasbench_rank import plugins

    site = tmp_path_factory.mktemp("site")
    dist = site / "nasbench_rank_knn_regressor-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nasbench-rank-knn-regressor\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[nasbench_rank]\nknn-regressor = knn_regressor_plugin\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    plugins.get_plugins.cache_clear()
    yield "knn-regressor"
    plugins.get_plugins.cache_clear()
