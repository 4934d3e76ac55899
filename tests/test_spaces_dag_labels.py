"""A third-party space with a DAG and no op list of its own: DAG encodings number their columns by
the labels its DAGs give inner nodes, read from every element."""

import numpy as np
from toy_space import BitSpace


class ChainSpace(BitSpace):
    """Each bit is an op on a chain input -> op -> op -> op -> output ("skip" for 0, "conv" for 1)."""

    def dag(self, element):
        e = self.validate(element)
        adj = np.eye(5, k=1, dtype=np.int8)
        return adj, ["input"] + ["conv" if b else "skip" for b in e] + ["output"]


class OnesOnlySpace(ChainSpace):
    name = "ones-only"

    def elements(self, ordinals=None):
        return np.ones((1 if ordinals is None else len(list(ordinals)), 3), dtype=np.int64)


def test_a_space_without_its_own_op_list_gets_the_sorted_labels_of_its_dags_inner_nodes():
    assert ChainSpace().dag_labels() == ("conv", "skip")


def test_the_labels_are_those_its_elements_use():
    assert OnesOnlySpace().dag_labels() == ("conv",)
