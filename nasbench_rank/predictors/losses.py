"""Training losses for torch predictors: ``loss(pred, target) -> scalar tensor`` on 1-d tensors of
predicted and true accuracy fractions. Pair sampling draws from torch's generator, which the
predictor seeds, so training stays deterministic."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import UserError


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Refuse the two silent failures: integer labels (fractions cast to int are all 0, so nothing is
    learned) and mismatched shapes ((n, 1) against (n,) broadcasts to an (n, n) loss)."""
    if not torch.is_floating_point(target):
        raise TypeError(f"loss targets must be float accuracy fractions, got {target.dtype}")
    if pred.shape != target.shape:
        raise ValueError(f"loss needs predictions and targets of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}")


def given_loss(predictor: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss a predictor trains with: its ``loss_fn`` (handed over when the registry built it, or
    passed by hand), else its ``loss`` when that is a loss object; a one-line UserError otherwise."""
    fn = getattr(predictor, "loss_fn", None)
    name = type(predictor).__name__
    if fn is not None:
        built = getattr(fn, "built_for", None)
        if built is not None and built != (predictor.loss, dict(predictor.loss_kwargs or {})):
            raise UserError(f"{name} was built for loss {built[0]!r} with {built[1]}, but its loss is now "
                            f"{predictor.loss!r} with {predictor.loss_kwargs or {}}: build it again through the registry")
        return fn
    if callable(predictor.loss):
        return predictor.loss
    raise UserError(f"{name}: loss {predictor.loss!r} is handed to the predictor when the registry builds it; "
                    "build it through the registry, or pass loss_fn= (a loss object) when building it by hand")


class MSELoss:
    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(pred, target)
        return F.mse_loss(pred, target)


class PairwiseRankLoss:
    """For sampled pairs (a, b) with y_a > y_b, mean of max(0, margin - (p_a - p_b)).

    Pairs are drawn uniformly among the batch's ordered pairs; ties in the target carry no order and
    are skipped. With fewer than two distinct targets the loss is zero (still attached to the graph).
    """

    def __init__(self, margin: float = 0.01, n_pairs: int = 64):
        self.margin = margin
        self.n_pairs = n_pairs

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(pred, target)
        n = pred.shape[0]
        if n < 2:
            return pred.sum() * 0.0
        a = torch.randint(0, n, (self.n_pairs,), device=pred.device)
        b = torch.randint(0, n, (self.n_pairs,), device=pred.device)
        sign = torch.sign(target[a] - target[b])
        keep = sign != 0
        if not bool(keep.any()):
            return pred.sum() * 0.0
        diff = (pred[a] - pred[b]) * sign  # oriented so that the better cell comes first
        return torch.clamp(self.margin - diff[keep], min=0.0).mean()


class MixedLoss:
    """``mse_weight * MSE + rank_weight * pairwise rank`` (0.5 / 0.5 as in the article)."""

    def __init__(self, mse_weight: float = 0.5, rank_weight: float = 0.5, margin: float = 0.01, n_pairs: int = 64):
        self.mse_weight = mse_weight
        self.rank_weight = rank_weight
        self.margin = margin
        self.n_pairs = n_pairs

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(pred, target)
        rank = PairwiseRankLoss(self.margin, self.n_pairs)
        return self.mse_weight * F.mse_loss(pred, target) + self.rank_weight * rank(pred, target)


class ListNetLoss:
    """ListNet top-one loss: cross-entropy between softmax(target / t) and softmax(pred / t) over the
    batch. Accuracy fractions differ by hundredths, so the temperature is small."""

    def __init__(self, temperature: float = 0.01):
        self.temperature = temperature

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check(pred, target)
        p_true = torch.softmax(target / self.temperature, dim=0)
        log_p_pred = torch.log_softmax(pred / self.temperature, dim=0)
        return -(p_true * log_p_pred).sum()
