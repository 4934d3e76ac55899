"""Built-in predictors: the recursive ACT transformer, gradient boosting and MLP baselines, and the
field's standard predictors (GIN, BANANAS, Gaussian process, random forest, proxies). Every one takes
a `space` setting (None: NAS-Bench-201) and reads elements only through the `Space` interface."""

from ..hookspecs import hookimpl
from ..plugins import lazy


@hookimpl
def register_predictors(register):
    act = "nasbench_rank.predictors.act:ACTPredictor"
    one = "1 recursion cycle, 1 ACT step"  # what the presets run: more recursion has not ranked better (README)
    register("act", lazy(act), f"transformer of the recursive ACT design, run at {one}; mixed loss")
    register("act-mse", lazy(act, loss="mse"), f"ACT transformer ({one}) trained with MSE")
    register("act-rank", lazy(act, loss="rank"), f"ACT transformer ({one}) trained with the pairwise ranking loss")
    register("act-mixed", lazy(act, loss="mixed"), f"ACT transformer ({one}) trained with 0.5 MSE + 0.5 ranking")
    register("act-best", lazy(act, n_models=3, epochs=120),
             f"ACT transformer ({one}), 3-seed ensemble (members trained together) trained twice as long: slightly better ranking")
    register("xgb", lazy("nasbench_rank.predictors.xgb:XGBPredictor"), "XGBoost regressor on one-hot + op counts (op counts where the space has a DAG)")
    register("xgb-rank", lazy("nasbench_rank.predictors.xgb:XGBPredictor", objective="rank:pairwise"), "XGBoost pairwise ranking objective")
    mlp = "nasbench_rank.predictors.mlp:MLPPredictor"
    register("mlp", lazy(mlp), "torch MLP on one-hot + op counts (where the space has a DAG), any loss plugin")
    register("mlp-mse", lazy(mlp, loss="mse"), "MLP trained with MSE")
    register("mlp-mixed", lazy(mlp, loss="mixed"), "MLP trained with 0.5 MSE + 0.5 ranking")
    ensemble = "nasbench_rank.predictors.ensemble:EnsemblePredictor"
    register("ensemble", lazy(ensemble), "mean and std over seeds of any predictor (base=NAME, n_models=5)")
    register("xgb-ensemble", lazy(ensemble, base="xgb"), "5 XGBoost seeds: mean and std for uncertainty-aware search")
    register("xgb-struct", lazy("nasbench_rank.predictors.xgb:XGBPredictor", encoding="structural",
                                augment="functional", tta=8),
             "XGBoost given ACT's structural knowledge: canonical form (NB201: dead edges as none), paths, "
             "functional copies (the fair baseline)")
    register("rf", lazy("nasbench_rank.predictors.forest:ForestPredictor"), "random forest on one-hot + op counts (where the space has a DAG)")
    register("gp", lazy("nasbench_rank.predictors.gp:GPPredictor"), "Gaussian process on paths + one-hot of the canonical form (one-hot alone without a DAG; predict_std)")
    register("bananas", lazy("nasbench_rank.predictors.bananas:BananasPredictor"),
             "BANANAS: ensemble of 5 MLPs on the path encoding (the one-hot in a space without a DAG; predict_std)")
    register("gin", lazy("nasbench_rank.predictors.gnn:GINPredictor"), "graph isomorphism network over the element's DAG (spaces with a DAG only)")
    register("params", lazy("nasbench_rank.predictors.proxies:ParamsProxy"),
             "proxy: parameter count (NB201: from the cell's structure; elsewhere the benchmark's params metric; no labels, free)")
    register("acc12", lazy("nasbench_rank.predictors.proxies:Acc12Proxy"),
             "proxy: 12-epoch validation accuracy (no labels; costs 12/200 of a training per cell; spaces with a 12-epoch fidelity only)")
