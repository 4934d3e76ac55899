import numpy as np
import pytest

from nasbench_rank import bench


@pytest.fixture(scope="session")
def table() -> bench.Table:
    return bench.load()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
