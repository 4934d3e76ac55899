"""Built-in losses: pointwise, pairwise, mixed and listwise."""

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_losses(register):
    register("mse", lazy("nasbench_rank.predictors.losses:MSELoss"), "mean squared error on accuracy fractions")
    register("rank", lazy("nasbench_rank.predictors.losses:PairwiseRankLoss"), "pairwise margin ranking loss (margin 0.01, 64 pairs)")
    register("mixed", lazy("nasbench_rank.predictors.losses:MixedLoss"), "0.5 * mse + 0.5 * rank")
    register("listnet", lazy("nasbench_rank.predictors.losses:ListNetLoss"), "listwise top-one cross-entropy (ListNet)")
