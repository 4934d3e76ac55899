"""A single-seed oracle built without a generator (the Python API's default) draws as one given
`numpy.random.default_rng(0)`: a script that builds one twice, or on another day, gets the same
answers."""

import numpy as np
from test_oracle_properties import seeded_benchmark

from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request


def answers(oracle):
    return [oracle.evaluate(Request((i,))).value for i in range(40)]


def test_a_seed_oracle_without_a_generator_draws_as_the_seed_0_generator():
    bm = seeded_benchmark()
    default = answers(Oracle(bm, "data", "valid", noise="seed"))
    assert default == answers(Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(0)))
    assert default != answers(Oracle(bm, "data", "valid", noise="seed", rng=np.random.default_rng(1)))
