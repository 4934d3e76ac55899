"""Seeded sampling of a space: asking for every element without replacement draws each once; more
than the space holds is refused in one line; ordinals may come as any iterable; no elements give
no rows."""

import numpy as np
import pytest
from toy_space import BitSpace

from nasbench_rank.errors import UserError


def test_sampling_the_whole_space_without_replacement_draws_every_element_once():
    sp = BitSpace()
    drawn = sp.sample(np.random.default_rng(0), sp.size)
    assert sorted(sp.ordinals(drawn).tolist()) == list(range(sp.size))


def test_sampling_more_distinct_elements_than_the_space_holds_is_refused():
    with pytest.raises(UserError, match="cannot sample 9 distinct elements from the 8 of space 'bits'"):
        BitSpace().sample(np.random.default_rng(0), 9)


def test_ordinals_may_be_any_iterable_of_ints():
    sp = BitSpace()
    expected = sp.elements([1, 6]).tolist()
    assert sp.elements(o for o in (1, 6)).tolist() == expected
    assert sp.elements(np.array([1, 6])).tolist() == expected
    assert sp.elements(range(1, 7, 5)).tolist() == expected


def test_no_elements_give_no_rows():
    sp = BitSpace()
    assert sp.ordinals([]).shape == (0,)
    assert sp.one_hot([]).shape == (0, 6)
