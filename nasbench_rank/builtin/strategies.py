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
    # the literature's strategies under their own names, written from their papers' descriptions
    register("bananas", lazy("nasbench_rank.strategies.bananas:Bananas"),
             "BANANAS (White et al., AAAI 2021): mutations of the best cells ranked by independent Thompson sampling "
             "of an ensemble; init 10, 10 per iteration from 100 candidates; pair with predictor 'bananas' (5 MLPs, "
             "path encoding), online")
    register("npenas", lazy("nasbench_rank.strategies.npenas:NPENAS"),
             "NPENAS-NP (Wei et al., TNNLS 2022): one-to-many mutation of the best cell, the predictor picks the "
             "children to train; init 10, 10 per iteration from 100 children; the paper's predictor is a GNN ('gin')")
    register("weaknas", lazy("nasbench_rank.strategies.weaknas:WeakNAS"),
             "WeakNAS (Wu et al., NeurIPS 2021): iterative weak predictors; each round 10 cells drawn from the "
             "predicted top 100 of the whole space; init 10; the paper's predictor is an MLP ('mlp'), online")
    register("ls", lazy("nasbench_rank.strategies.local_white:SteepestLocalSearch"),
             "local search as in White, Nolen & Savani (UAI 2021): evaluate the whole neighbourhood, move to its "
             "best, restart at a random cell at a local optimum ('local' moves at the first improvement)")
    register("re", lazy("nasbench_rank.strategies.evolution:RegularizedEvolution"),
             "regularized (aging) evolution (Real et al., AAAI 2019), population 20, tournament 5 (this "
             "project's defaults, not the paper's)")
    register("tpe", lazy("nasbench_rank.strategies.optuna_search:OptunaSearch", sampler="tpe"),
             "Optuna's TPE sampler (Bergstra et al., NeurIPS 2011), 10 random startup trials, independent per "
             "position (needs the optuna extra)")
