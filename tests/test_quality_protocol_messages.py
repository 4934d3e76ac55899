"""What the predictor-quality protocol says when the asked sizes do not fit the pool: the numbers in
the one-line message are the ones the user asked for and the pool's own."""

import pytest

from nasbench_rank.errors import UserError
from nasbench_rank.quality.protocol import resolve_protocol


def test_train_and_test_sizes_beyond_the_pool_are_refused_with_their_sum_and_the_pool_size():
    with pytest.raises(UserError) as refused:
        resolve_protocol("xgb", pool="full", n_train=900, n_test=15_000)
    assert str(refused.value) == "n_train + n_test = 15900 exceeds the 15625 cells of pool 'full'"


def test_a_training_size_that_leaves_no_cell_to_test_names_the_cells_it_may_use():
    with pytest.raises(UserError) as refused:
        resolve_protocol("xgb", pool="full", n_train=15_625)
    assert str(refused.value) == "n_train = 15625 exceeds the 15624 cells of pool 'full' that leave a cell to test"
