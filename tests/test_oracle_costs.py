"""What the oracle charges for a lower fidelity: the full schedule's time scaled by its epochs (the
stated model), whatever the benchmark's own cost for that fidelity says; and the refusal of a
GPU-hour budget where there are no training times; the cost model each row states."""

import numpy as np
import pytest
from line_space import LineBenchmark

from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request


class HalfCostShortRuns(LineBenchmark):
    """Says a 12-epoch run costs half the full one (not 12/200 of it)."""

    def cost(self, dataset, fidelity=None):
        f = self.fidelity(dataset, fidelity)
        return self.seconds * (0.5 if f.epochs == 12 else 1.0)


def test_a_lower_fidelity_is_charged_the_full_time_scaled_by_its_epochs():
    values = [90.0, 80.0, 70.0]
    bm = HalfCostShortRuns({"valid": values, "test": values}, low={"valid": values, "test": values},
                           seconds=[100.0, 200.0, 400.0])
    oracle = Oracle(bm, "data", "valid")
    assert oracle.cost(Request((1,), 12)) == pytest.approx(200.0 * 12 / 200)
    assert oracle.cost(Request((1,), 200)) == pytest.approx(200.0)
    assert np.isclose(oracle.evaluate(Request((2,), 12)).cost, 400.0 * 12 / 200)


def test_a_gpu_hour_budget_on_a_space_priced_in_evaluations_is_refused_naming_the_unit():
    from nasbench_rank.errors import UserError
    from nasbench_rank.loop.oracle import check_budget

    with pytest.raises(UserError) as refused:
        check_budget(None, 5.0, size=100, space_name="nbgraph", cost_unit="evaluations")
    assert str(refused.value) == ("space 'nbgraph' has no training times (an evaluation costs 1 evaluation): "
                                  "use --budget, not --gpu-hours")


def test_rows_state_the_cost_model_scaled_by_the_full_schedules_epochs():
    from nasbench_rank.loop.oracle import cost_model

    values = [90.0, 80.0, 70.0]
    two = LineBenchmark({"valid": values, "test": values}, low={"valid": values, "test": values})
    assert cost_model(two, "data") == "train_seconds*epochs/200"
    assert cost_model(LineBenchmark({"valid": values, "test": values}), "data") == "train_seconds"
