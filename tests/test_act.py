"""The ACT predictor: labels reach the loss unchanged, fits are reproducible, evaluation runs every
ACT step, a fitted model survives pickle, and a small model learns a real ranking signal."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import UserError
from nasbench_rank.plugins import get_plugins
from nasbench_rank.predictors.act import ACTPredictor, RecursiveNet, effective_ops, functional_copies

def built_act(**settings) -> ACTPredictor:
    """An ACT predictor as the framework builds it: through the registry, which hands over its loss."""
    return get_plugins().predictors.create("act", **settings)


TINY = dict(hidden=16, heads=2, expansion=2.0, H_cycles=2, L_cycles=1, halt_max_steps=2, epochs=2,
            batch_size=32, tta=2)


class RecordingLoss:
    """MSE that keeps every target tensor it was given (module level, so a fitted model pickles)."""

    def __init__(self):
        self.targets: list[torch.Tensor] = []

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.targets.append(target.detach().clone())
        return torch.nn.functional.mse_loss(pred, target)


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    cells = space.sample(rng, 64)
    y = rng.uniform(0.90, 0.99, size=64).astype(np.float32)
    return cells, y


@pytest.mark.parametrize("augment", ["none", "functional"])
def test_accuracy_fractions_reach_the_loss_as_unchanged_float32(augment):
    cells = space.sample(np.random.default_rng(1), 40)
    y = np.resize(np.array([0.946, 0.992, 0.9137, 0.105], dtype=np.float32), 40)
    loss = RecordingLoss()
    ACTPredictor(loss=loss, augment=augment, **TINY).fit(cells, y)
    seen = torch.cat(loss.targets)
    assert seen.dtype == torch.float32
    assert set(seen.numpy().tolist()) == set(y.tolist())  # every label arrives, bit for bit, none become 0


def test_loss_plugin_is_created_by_name(sample):
    cells, y = sample
    assert "rank" in get_plugins().losses
    pred = get_plugins().predictors.create("act", loss="rank", **TINY).fit(cells, y).predict(cells)
    assert np.all(np.isfinite(pred))
    with pytest.raises(Exception, match="unknown loss"):
        get_plugins().predictors.create("act", loss="no-such-loss", **TINY)


def test_same_seed_same_predictions_other_seed_differs(sample):
    cells, y = sample
    a = built_act(seed=3, **TINY).fit(cells, y).predict(cells)
    b = built_act(seed=3, **TINY).fit(cells, y).predict(cells)
    c = built_act(seed=4, **TINY).fit(cells, y).predict(cells)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shapes_and_dtypes(sample):
    cells, y = sample
    model = built_act(n_models=2, **TINY).fit(cells, y)
    for out in (model.predict(cells[:7]), model.predict_std(cells[:7])):
        assert out.shape == (7,) and out.dtype == np.float32
    assert model.predict_steps(cells[:7]).shape == (TINY["halt_max_steps"], 7)
    assert np.all(model.predict_std(cells) > 0)
    with pytest.raises(UserError, match="n_models"):
        built_act(**TINY).fit(cells, y).predict_std(cells)
    with pytest.raises(UserError, match="not fitted"):
        built_act().predict(cells)
    with pytest.raises(UserError, match="labels"):
        built_act(**TINY).fit(cells, y[:-1])


def test_evaluation_runs_every_act_step_even_when_the_halting_head_says_stop(sample, monkeypatch):
    cells, y = sample
    model = built_act(**{**TINY, "halt_max_steps": 3, "tta": 1}).fit(cells, y)
    net = model.models_[0]
    torch.nn.init.constant_(net.halt_head.bias, 50.0)  # every halting logit says "halt now"
    calls = []
    original = RecursiveNet.step

    def counting(self, x, z_H, z_L, *rest, **kwargs):
        calls.append(x.shape[0])
        return original(self, x, z_H, z_L, *rest, **kwargs)

    monkeypatch.setattr(RecursiveNet, "step", counting)
    model.predict(cells[:10])
    assert calls == [10, 10, 10]
    steps = model.predict_steps(cells[:10])
    assert not np.allclose(steps[0], steps[-1])  # later steps refine the answer, they are not copies


def test_pickle_round_trip_predicts_identically(sample):
    cells, y = sample
    model = ACTPredictor(loss=RecordingLoss(), **TINY).fit(cells, y)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(model.predict(cells), clone.predict(cells))


def test_dead_edges_become_none_and_functional_copies_share_the_function():
    # 0->1 is none, so node 1 is unreachable and its outgoing edges 1->2 and 1->3 are dead
    cell = np.array([[0, 3, 2, 1, 3, 3]])
    np.testing.assert_array_equal(effective_ops(cell), [[0, 3, 0, 1, 0, 3]])
    copies = functional_copies(cell)[0]
    assert space.to_ordinal(cell[0]) in copies and len(copies) > 1
    keys = {space.functional_key(space.from_ordinal(o)) for o in copies}
    assert keys == {space.functional_key(cell[0])}


def test_a_small_model_learns_the_cifar10_ranking():
    table = bench.load()
    _, first = np.unique(table.unique_ids(), return_index=True)
    idx = np.random.default_rng(7).permutation(np.sort(first))
    train, test = idx[:300], idx[300:800]
    y = table.accuracy("cifar10", "valid", fraction=True)
    model = built_act(hidden=32, heads=4, H_cycles=1, L_cycles=1, epochs=25, batch_size=64, tta=1, seed=0)
    model.fit(table.cells[train], y[train])
    tau = kendalltau(model.predict(table.cells[test]), y[test]).statistic
    assert tau > 0.5


# ---- the speed work: shortcuts that must not change what the model computes ----------------------

def test_the_last_step_shortcut_gives_the_full_stacks_summary_prediction():
    torch.manual_seed(0)
    net = RecursiveNet(16, 2, 2.0, 2, 2, 2, summary_token=True, graph_bias=True)
    torch.nn.init.normal_(net.reg_head.weight)  # zero-initialised heads would hide any difference
    torch.nn.init.normal_(net.rel_bias)
    tokens = torch.as_tensor(space.sample(np.random.default_rng(1), 9), dtype=torch.long)
    x = net.embed(tokens)
    z_H, z_L = net.init_carry(*x.shape[:2])
    full = net.step(x, z_H, z_L)
    short = net.step(x, z_H, z_L, last=True)
    assert short[0].shape == (9, 1, 16) and full[0].shape == (9, 7, 16)
    torch.testing.assert_close(short[0][:, 0], full[0][:, 0])
    torch.testing.assert_close(short[2], full[2])
    torch.testing.assert_close(short[3], full[3])


def test_attention_by_broadcasting_equals_scaled_dot_product_attention():
    torch.manual_seed(0)
    from nasbench_rank.predictors.act import Block

    block = Block(16, 4, 2.0)
    x, bias = torch.randn(5, 7, 16), torch.randn(4, 7, 7)
    q, k, v = block.qkv(x).view(5, 7, 3, 4, 4).permute(2, 0, 3, 1, 4)
    a = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(5, 7, 16)
    h = block.norm1(x + block.out(a))
    gate, up = block.gate_up(h).chunk(2, dim=-1)
    expected = block.norm2(h + block.down(torch.nn.functional.silu(gate) * up))
    torch.testing.assert_close(block(x, bias), expected)
    torch.testing.assert_close(block(x, bias, first_only=True), expected[:, :1])


def test_a_fitted_model_owns_separate_parameter_storage_and_no_gradients(sample):
    cells, y = sample
    model = built_act(**TINY).fit(cells, y)
    params = list(model.models_[0].parameters())
    assert all(p.grad is None for p in params)
    pointers = [p.untyped_storage().data_ptr() for p in params]
    assert len(set(pointers)) == len(params)
    assert sum(p.untyped_storage().nbytes() for p in params) == sum(p.numel() * 4 for p in params)


def test_the_learning_rate_follows_warm_up_then_cosine(sample, monkeypatch):
    cells, y = sample
    seen = []
    original = torch.optim.AdamW.step

    def recording(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording)
    built_act(**{**TINY, "halt_max_steps": 1, "epochs": 4, "lr": 1e-3, "warmup": 0.25}).fit(cells, y)
    total = 4 * 2  # 4 epochs of 2 batches
    warm = 2
    expected = [1e-3 * min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * s / total)) for s in range(total)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
