"""Every predictor runs on every space through the `Space` interface alone: it fits and predicts finite
values on NAS-Bench-201, NAS-Bench-Graph (cora) and FCNet (naval) with the benchmark's utility as
labels, or refuses in one line where the space lacks what it needs; NAS-Bench-201's encodings and ACT
predictions are pinned to what they were before spaces existed; ACT reads per-element relations;
functional copies come from the space's equivalence classes; a saved predictor keeps its space."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from sklearn.base import clone

from nasbench_rank.predictors import features
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank import spaces
from nasbench_rank.errors import UserError
from nasbench_rank.predictors.persist import load_predictor, restore_space, save_predictor
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors import gnn, gp
from nasbench_rank.predictors.act import ACTPredictor, RecursiveNet
from nasbench_rank.predictors.act_cells import space_index
from nasbench_rank.predictors.losses import MixedLoss

DATASETS = {"nb201": "cifar10", "nbgraph": "cora", "fcnet": "naval"}
#: tiny settings so that each fit takes a fraction of a second
TINY = {
    **{name: dict(hidden=16, heads=2, epochs=2, tta=2, device="cpu")
       for name in ("act", "act-mse", "act-rank", "act-mixed")},
    "act-best": dict(hidden=16, heads=2, epochs=2, n_models=2, device="cpu"),
    "xgb": dict(n_estimators=10), "xgb-rank": dict(n_estimators=10), "xgb-struct": dict(n_estimators=10),
    "ensemble": dict(n_models=2, base_kwargs={"n_estimators": 10}),
    "xgb-ensemble": dict(n_models=2, base_kwargs={"n_estimators": 10}),
    **{name: dict(epochs=2, hidden=16) for name in ("mlp", "mlp-mse", "mlp-mixed")},
    "rf": dict(n_estimators=10), "gp": {}, "bananas": dict(n_models=2, epochs=2, hidden=16),
    "gin": dict(epochs=2, hidden=16), "params": {}, "acc12": {}, "ridge": {},
}
#: (predictor, space) -> what the one-line refusal names
REFUSED = {("gin", "fcnet"): "DAG", ("acc12", "nbgraph"): "12-epoch", ("acc12", "fcnet"): "12-epoch"}


@pytest.fixture(scope="module", params=sorted(DATASETS))
def problem(request):
    """(benchmark, dataset, training elements, their utilities, test elements) of one space."""
    bm = spaces.load(request.param)
    dataset = bm.canonical_dataset(DATASETS[request.param])
    ords = np.random.default_rng(3).choice(bm.space.size, 100, replace=False)
    X = bm.space.elements(ords)
    y = bm.metric("valid").utility(bm.values(dataset, "valid"))[ords].astype(np.float32)
    return bm, dataset, X[:40], y[:40], X[40:]


def build(name: str, bm, dataset: str):
    """A predictor as evaluation code builds it: its space given, its dataset injected."""
    model = get_plugins().predictors.create(name, **TINY[name])
    spaces.give_space(model, bm.space, name)
    spaces.give_benchmark(model, bm)
    get_params = getattr(model, "get_params", None)
    if callable(get_params) and "dataset" in get_params(deep=False):
        model.set_params(dataset=dataset)
    return model


def test_every_registered_predictor_has_a_tiny_setting_here():
    assert set(get_plugins().predictors.names()) <= set(TINY)


@pytest.mark.parametrize("name", sorted(TINY))
def test_each_predictor_fits_and_predicts_finite_values_on_each_space_or_refuses_in_one_line(problem, name):
    bm, dataset, X, y, test = problem
    model = build(name, bm, dataset)
    refusal = REFUSED.get((name, bm.name))
    if refusal is not None:
        with pytest.raises(UserError) as err:
            model.fit(X, y)
        message = str(err.value)
        assert "\n" not in message and refusal in message and repr(bm.name) in message and name in message
        return
    pred = np.asarray(model.fit(X, y).predict(test))
    assert pred.shape == (len(test),) and np.all(np.isfinite(pred))
    assert np.std(pred) > 0


def test_clone_shares_the_space_object():
    sp = spaces.load("nbgraph").space
    model = get_plugins().predictors.create("xgb", space=sp)
    assert clone(model).get_params()["space"] is sp


# ---- NAS-Bench-201 unchanged -----------------------------------------------------------------------

#: (width, sha256 prefix of the float32 bytes) over all 15,625 cells, computed with the code before
#: predictors took a space (commit 82a6601).
NB201_ENCODINGS = {
    "tabular": (35, "ed6c8c73356354d5"),
    "tabular_paths": (190, "ac83bcb1b9e6c0ec"),
    "structural": (274, "4e6fb55297eb57eb"),
    "paths": (84, "d751db77571f7b20"),
    "gp": (114, "c5f157c66769f251"),
    "gin": (120, "594c02497daffb7b"),
}


def test_nb201_encodings_are_bit_identical_to_those_before_spaces():
    nb201, cells = spaces.default_space(), space.all_cells()
    got = {"tabular": features.tabular(nb201, cells), "tabular_paths": features.tabular(nb201, cells, paths=True),
           "structural": features.structural(nb201, cells), "paths": features.path_features(nb201, cells),
           "gp": gp.encode(nb201, cells),
           "gin": np.concatenate([t.numpy().reshape(len(cells), -1) for t in gnn.graphs(nb201, cells)], axis=1)}
    for key, (width, digest) in NB201_ENCODINGS.items():
        value = np.ascontiguousarray(got[key], dtype=np.float32)
        assert value.shape == (len(cells), width), key
        assert hashlib.sha256(value.tobytes()).hexdigest()[:16] == digest, key
    assert np.array_equal(features.path_features(nb201, cells[:50]), features.live_paths(cells[:50]))


def test_nb201_act_predictions_are_those_of_the_code_before_spaces():
    """Values computed with commit 82a6601 (same settings, seed and cells)."""
    rng = np.random.default_rng(7)
    cells = space.sample(rng, 34)
    y = rng.uniform(0.5, 0.95, size=30).astype(np.float32)
    assert cells[30:].tolist() == [[2, 1, 3, 2, 0, 4], [1, 3, 2, 3, 1, 3], [4, 4, 3, 3, 3, 4], [2, 1, 0, 3, 0, 1]]
    pinned = {
        "tta": [0.7202731370925903, 0.7197312116622925, 0.7201592922210693, 0.7203837633132935],
        "plain": [0.7217780947685242, 0.7235981822013855, 0.7214635014533997, 0.7203956246376038],
    }
    settings = {"tta": dict(tta=4), "plain": dict(summary_token=False, augment="none", effective=False, tta=1)}
    for key, extra in settings.items():
        model = ACTPredictor(hidden=16, heads=2, epochs=3, batch_size=8, seed=3, device="cpu", loss_fn=MixedLoss(),
                             **extra)
        pred = model.fit(cells[:30], y).predict(cells[30:])
        np.testing.assert_allclose(pred, pinned[key], rtol=1e-6, atol=0, err_msg=key)


# ---- what other spaces give ------------------------------------------------------------------------

def test_act_on_nbgraph_gives_elements_with_different_links_different_attention_biases():
    sp = spaces.load("nbgraph").space
    a, b = sp.parse("0,0,0,0:gcn,gin,fc,cheb"), sp.parse("0,1,2,3:gcn,gin,fc,cheb")
    index = space_index(sp)
    assert index.relations is None  # they vary, so each token row carries its element's relations
    torch.manual_seed(0)
    net = RecursiveNet(16, 2, 2.0, 1, 1, 1, summary_token=True, graph_bias=True, space=sp)
    with torch.no_grad():
        net.rel_bias.normal_()
    net.embed(index.tokens[sp.ordinals([a, b])])
    (bias,) = list(net.biases())
    assert bias.shape == (2, 2, 5, 5)  # (batch, heads, summary + 4 nodes, summary + 4 nodes)
    assert not torch.equal(bias[0], bias[1])
    relations = torch.as_tensor(sp.relations([a, b]))
    assert torch.equal(bias[:, :, 1:, 1:], net.rel_bias[0][relations].permute(0, 3, 1, 2))
    # FCNet's relations are the same for every element: one shared (T, T) matrix
    assert space_index(spaces.load("fcnet").space).relations is not None


def test_functional_augmentation_on_nbgraph_draws_only_members_of_each_elements_class():
    sp = spaces.load("nbgraph").space
    group, starts, _ = sp.classes()
    big = np.flatnonzero((starts[group + 1] - starts[group]) >= 4)[:: 997][:6]
    X = sp.elements(big)
    rng = np.random.default_rng(0)
    aug, labels, weights = features.functional_augment(sp, X, np.arange(len(X), dtype=np.float32), 4, rng)
    owner = labels.astype(int)
    assert np.array_equal(group[sp.ordinals(aug)], group[big][owner])
    assert np.allclose(np.bincount(owner, weights=weights), 1.0)
    assert len(aug) > len(X)  # copies other than the element itself were drawn
    copies = space_index(sp).sample_copies(np.repeat(big, 20), rng)
    assert np.array_equal(group[copies], np.repeat(group[big], 20)) and not np.array_equal(copies, np.repeat(big, 20))
    # no equivalence (FCNet): augmentation and test-time copies are the elements themselves
    fc = spaces.load("fcnet").space
    Y = fc.elements([0, 5, 62207])
    aug, _, weights = features.functional_augment(fc, Y, np.zeros(3), 8, rng)
    assert np.array_equal(aug, Y) and np.all(weights == 1)
    assert np.array_equal(features.functional_expand(fc, Y, 8)[0], Y)


def test_nbgraph_path_encoding_counts_input_to_output_op_chains():
    sp = spaces.load("nbgraph").space
    ops = list(sp.dag_labels())
    k = len(ops)
    star, chain = sp.parse("0,0,0,0:gcn,gin,fc,cheb"), sp.parse("0,1,2,3:gcn,gin,fc,cheb")
    enc = features.path_features(sp, [star, chain])
    assert enc.shape == (2, k + k**2 + k**3)
    # four nodes reading the input are four leaves: four paths of one op each
    assert enc[0].sum() == 4 and all(enc[0, ops.index(op)] == 1 for op in ("gcn", "gin", "fc", "cheb"))
    # one chain of four ops: one path, counted by its last three ops
    column = k + k**2 + (ops.index("gin") * k + ops.index("fc")) * k + ops.index("cheb")
    assert enc[1].sum() == 1 and enc[1, column] == 1
    counts = features.label_counts(sp, [chain])[0]
    assert counts.sum() == 4 and counts[ops.index("gcn")] == 1
    with pytest.raises(UserError, match="no DAG"):
        features.path_features(spaces.load("fcnet").space, [(0,) * 9])


@pytest.mark.parametrize("name", ["xgb-struct", "act"])
def test_a_saved_predictor_keeps_its_space_and_predicts_identically(tmp_path, name):
    bm = spaces.load("nbgraph")
    X = bm.space.elements(np.random.default_rng(1).choice(bm.space.size, 60, replace=False))
    y = bm.values("cora", "valid")[bm.space.ordinals(X)].astype(np.float32)
    model = build(name, bm, "cora").fit(X[:40], y[:40])
    save_predictor(model, tmp_path / name, {"name": name, "kwargs": TINY[name]})
    loaded = load_predictor(tmp_path / name)
    assert loaded.space.name == "nbgraph"
    assert np.array_equal(loaded.predict(X[40:]), model.predict(X[40:]))
    assert restore_space("nbgraph-proteins").name == "nbgraph-proteins"


def test_proxies_read_the_benchmark_of_a_space_with_a_params_metric_and_a_12_epoch_fidelity():
    from nasbench_rank.predictors.proxies import Acc12Proxy, ParamsProxy
    from nasbench_rank.spaces import Fidelity, Metric
    from toy_space import BitBenchmark

    class ShortBits(BitBenchmark):
        metrics = {**BitBenchmark.metrics, "params": Metric("params", "min", "parameters")}

        def fidelities(self, dataset):
            return (Fidelity("final"), Fidelity("short", 12))

        def values(self, dataset, metric=None, fidelity=None):
            ones = self.space.elements().sum(axis=1).astype(float)
            return 10 * ones if metric == "params" else ones + (0.5 if fidelity == "short" else 0.0)

        def cost(self, dataset, fidelity=None):
            return np.full(8, 1800.0 if fidelity == "short" else 7200.0)

    bm = ShortBits()
    X = bm.space.elements([0, 3, 7])  # 000, 011, 111
    acc12 = Acc12Proxy(dataset="ones", space=bm.space, benchmark=bm).fit(X)
    assert acc12.predict(X).tolist() == [-0.5, -2.5, -3.5]  # the 12-epoch loss as a utility
    assert acc12.query_gpu_hours_ == 1.5  # 3 elements x half an hour at the short fidelity
    params = ParamsProxy(dataset="ones", space=bm.space, benchmark=bm).fit(X)
    assert params.predict(X).tolist() == [0.0, 20.0, 30.0] and params.query_gpu_hours_ == 0.0
    with pytest.raises(UserError, match="'params' metric; space 'bits'"):
        ParamsProxy(dataset="ones", space=bm.space, benchmark=BitBenchmark()).fit(X)
