"""Elements given as floats: whole numbers are taken, anything else is refused in one line."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_rank.spaces.base import ParseError, as_int_array


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(st.integers(0, 4), min_size=3, max_size=3), st.integers(0, 2),
       st.floats(0.01, 0.99) | st.sampled_from([np.nan, np.inf, -np.inf]))
def test_a_float_element_that_is_not_a_whole_number_is_refused(digits, where, fraction):
    element = [float(d) for d in digits]
    element[where] += fraction
    with pytest.raises(ParseError):
        as_int_array([element], 3, "cells")


def test_whole_floats_are_taken_as_ints():
    assert as_int_array([[1.0, 0.0, 4.0]], 3, "cells").tolist() == [[1, 0, 4]]
