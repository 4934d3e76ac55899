"""The loss plugins: values on hand-computed cases and the direction their gradients push."""

from __future__ import annotations

import math

import pytest
import torch

from nasbench_rank.plugins import get_plugins


def make(name: str, **kwargs):
    return get_plugins().losses.create(name, **kwargs)


def grad_of(loss, pred: list[float], target: list[float]) -> torch.Tensor:
    p = torch.tensor(pred, dtype=torch.float32, requires_grad=True)
    loss(p, torch.tensor(target, dtype=torch.float32)).backward()
    return p.grad


def test_mse_value_matches_hand_computation():
    value = make("mse")(torch.tensor([0.5, 0.7]), torch.tensor([0.6, 0.4]))
    assert value.item() == pytest.approx((0.1**2 + 0.3**2) / 2)


def test_mse_gradient_moves_prediction_toward_target():
    g = grad_of(make("mse"), [0.5, 0.7], [0.6, 0.4])
    assert g[0] < 0 < g[1]  # descent raises the under-prediction and lowers the over-prediction


def test_rank_loss_on_two_cells_is_margin_minus_oriented_difference():
    torch.manual_seed(0)
    loss = make("rank", margin=0.05, n_pairs=16)
    # better cell predicted 0.02 above the worse one: penalty 0.05 - 0.02
    assert loss(torch.tensor([0.52, 0.50]), torch.tensor([0.9, 0.1])).item() == pytest.approx(0.03)
    # predicted in the wrong order: penalty grows with the inversion
    assert loss(torch.tensor([0.50, 0.52]), torch.tensor([0.9, 0.1])).item() == pytest.approx(0.07)
    # ordered by more than the margin: no penalty
    assert loss(torch.tensor([0.60, 0.50]), torch.tensor([0.9, 0.1])).item() == 0.0


def test_rank_loss_pushes_the_better_cell_up_and_the_worse_down():
    torch.manual_seed(0)
    g = grad_of(make("rank"), [0.5, 0.5], [0.9, 0.1])
    assert g[0] < 0 < g[1]


def test_rank_loss_ignores_ties_and_scale_of_targets():
    torch.manual_seed(0)
    loss = make("rank")
    tied = torch.tensor([0.3, 0.3, 0.3])
    value = loss(torch.tensor([0.1, 0.5, 0.9], requires_grad=True), tied)
    assert value.item() == 0.0 and value.requires_grad
    pred = torch.tensor([0.2, 0.4, 0.1])
    torch.manual_seed(1)
    a = loss(pred, torch.tensor([0.91, 0.92, 0.93]))
    torch.manual_seed(1)
    b = loss(pred, torch.tensor([10.0, 50.0, 90.0]))
    assert a.item() == pytest.approx(b.item())  # only the order of the targets matters


def test_rank_settings_are_settable():
    loss = make("rank", margin=0.2, n_pairs=7)
    assert (loss.margin, loss.n_pairs) == (0.2, 7)
    mixed = make("mixed", margin=0.2, n_pairs=7)
    assert (mixed.margin, mixed.n_pairs) == (0.2, 7)


def test_mixed_is_the_weighted_sum_of_mse_and_rank():
    pred, target = torch.tensor([0.50, 0.52]), torch.tensor([0.9, 0.1])
    mse = ((0.5 - 0.9) ** 2 + (0.52 - 0.1) ** 2) / 2
    rank = 0.01 + 0.02  # margin 0.01, inverted by 0.02
    torch.manual_seed(0)
    assert make("mixed")(pred, target).item() == pytest.approx(0.5 * mse + 0.5 * rank)
    torch.manual_seed(0)
    assert make("mixed", mse_weight=1.0, rank_weight=0.0)(pred, target).item() == pytest.approx(mse)


def test_listnet_value_on_equal_predictions_is_log_n():
    value = make("listnet")(torch.zeros(4), torch.tensor([0.9, 0.8, 0.7, 0.6]))
    assert value.item() == pytest.approx(math.log(4))


def test_listnet_pushes_the_best_cell_up():
    g = grad_of(make("listnet", temperature=0.1), [0.5, 0.5, 0.5], [0.9, 0.5, 0.1])
    assert g[0] < 0 < g[2]


@pytest.mark.parametrize("name", ["mse", "rank", "mixed", "listnet"])
def test_losses_refuse_integer_labels(name):
    """Labels cast to int become 0 and train nothing; the loss says so instead of training on zeros."""
    with pytest.raises(TypeError, match="float"):
        make(name)(torch.tensor([0.5, 0.6]), torch.tensor([0, 1], dtype=torch.int32))


@pytest.mark.parametrize("name", ["mse", "rank", "mixed", "listnet"])
def test_losses_refuse_mismatched_shapes(name):
    """(n, 1) predictions against (n,) targets would broadcast to an (n, n) loss."""
    with pytest.raises(ValueError, match="shape"):
        make(name)(torch.zeros(3, 1), torch.tensor([0.5, 0.6, 0.7]))
