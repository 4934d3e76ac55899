"""Built-in search strategies."""

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_searches(register):
    register("random", lazy("nasbench_rank.strategies.random_search:RandomSearch"), "uniform random sampling")
    register("topk", lazy("nasbench_rank.strategies.topk:TopKSearch"), "init random, then score a candidate pool and evaluate the top k")
    register("evolution", lazy("nasbench_rank.strategies.evolution:RegularizedEvolution"), "regularized evolution, optional predictor screening")
    register("topk-local", lazy("nasbench_rank.strategies.hybrid:HybridSearch"), "top-k of the whole space mixed with the top-scored neighbours of the incumbent")
    register("local", lazy("nasbench_rank.strategies.hybrid:HybridSearch", k=1, local=1), "local search: the best-scored (or a random) unevaluated neighbour of the incumbent, one at a time")
    register("ucb", lazy("nasbench_rank.strategies.ucb:UCBSearch"), "upper confidence bound over predictor mean + std")
    register("halving", lazy("nasbench_rank.strategies.halving:SuccessiveHalving"), "successive halving: random brackets screened at 12 epochs, the best trained for 200 (BOHB-like with a predictor; needs a 12-epoch fidelity: NB201)")
    register("halving-local", lazy("nasbench_rank.strategies.halving:SuccessiveHalving", around="incumbent"), "successive halving over the incumbent's neighbourhood: screened at 12 epochs, promoted best first to 200")
    register("optuna", lazy("nasbench_rank.strategies.optuna_search:OptunaSearch"), "an Optuna study (sampler=tpe|gp|random|qmc) over the space's categorical choices (NB201: each edge's op)")
