import numpy as np
import pytest

from nasbench_rank.spaces import nb201_cell as space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_parse_and_format_round_trip():
    cell = space.parse(ARCH)
    assert cell == (3, 3, 4, 1, 3, 1)
    assert space.format_cell(cell) == ARCH


@pytest.mark.parametrize(
    "bad, message",
    [
        ("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'nor_conv_5x5'"),
        ("|none~0|+|none~0|none~1|", "expected 3 node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 incoming edges"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~1|", "must come from node 2"),
        ("|none-0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like 'op~source'"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
    ],
)
def test_malformed_strings_raise_value_error_naming_the_problem(bad, message):
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        space.parse(bad)


def test_ordinal_round_trip_covers_every_cell():
    cells = space.all_cells()
    assert cells.shape == (15625, 6)
    assert len({tuple(c) for c in cells}) == 15625
    for ordinal in (0, 1, 777, 15624):
        assert space.to_ordinal(space.from_ordinal(ordinal)) == ordinal
    with pytest.raises(ValueError):
        space.from_ordinal(15625)


def test_invalid_cells_are_refused():
    with pytest.raises(ValueError):
        space.validate((0, 1, 2, 3, 4, 5))
    with pytest.raises(ValueError):
        space.validate((0, 1, 2))


def test_mutations_are_the_24_one_edge_neighbours():
    cell = space.parse(ARCH)
    neighbours = space.mutations(cell)
    assert len(neighbours) == 24 and len(set(neighbours)) == 24
    assert cell not in neighbours
    assert all(sum(a != b for a, b in zip(cell, n)) == 1 for n in neighbours)


def test_one_hot_marks_one_op_per_edge():
    enc = space.one_hot([space.parse(ARCH)])
    assert enc.shape == (1, 30) and enc.dtype == np.float32
    assert enc.reshape(6, 5).sum(axis=1).tolist() == [1.0] * 6
    assert enc.reshape(6, 5).argmax(axis=1).tolist() == [3, 3, 4, 1, 3, 1]


def test_tokens_are_the_op_indices():
    assert space.tokens([space.parse(ARCH)]).tolist() == [[3, 3, 4, 1, 3, 1]]


def test_sampling_is_seeded_and_distinct():
    a = space.sample(np.random.default_rng(7), 50)
    b = space.sample(np.random.default_rng(7), 50)
    assert np.array_equal(a, b)
    assert len({tuple(c) for c in a}) == 50
    with pytest.raises(ValueError):
        space.sample(np.random.default_rng(0), 20000)


def test_functional_key_merges_cells_that_compute_the_same_function():
    # the output is the input in both: skip chain vs a direct skip with dead convs on zero nodes
    chain = space.parse("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    dead = space.parse("|none~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
    conv = space.parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert space.functional_key(chain) == space.functional_key(dead) == "x"
    assert space.functional_key(conv) != "x"


def test_ordinals_vectorise_to_ordinal():
    cells = space.all_cells()[[0, 5, 15624]]
    assert space.ordinals(cells).tolist() == [space.to_ordinal(c) for c in cells] == [0, 5, 15624]
