import numpy as np
import pytest

from nasbench_rank.tables import nb201 as bench


@pytest.fixture(scope="session")
def table() -> bench.Table:
    return bench.load()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
