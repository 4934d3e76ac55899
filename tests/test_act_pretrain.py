"""ACT's label-free pretraining (`pretrain_epochs`): structural targets are right on known cells, the
network learns them, the fit changes only when pretraining is on, the rows can count the unlabelled
elements read, and a space without element graphs is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench_rank.errors import UserError
from nasbench_rank.predictors.act import ACTPredictor
from nasbench_rank.predictors.act_pretrain import pretrain, pretrain_set, structural_targets
from nasbench_rank.predictors.losses import MixedLoss
from nasbench_rank.spaces import resolve_space
from toy_space import BitSpace

TINY = dict(hidden=16, heads=2, expansion=2.0, epochs=3, batch_size=4, tta=1, seed=0,
            loss_fn=MixedLoss())  # built by hand, so the loss object is passed


class ChainSpace(BitSpace):
    """Bit strings of length 3 as a DAG: input -> a -> b -> c -> output and a shortcut a -> output;
    bit k set: node k is a `conv`, else `none` (a cut)."""

    name = "chain"

    def dag(self, element):
        e = self.validate(element)
        adj = np.zeros((5, 5), dtype=np.int8)
        for u, v in ((0, 1), (1, 2), (2, 3), (3, 4), (1, 4)):
            adj[u, v] = 1
        return adj, ["input"] + ["conv" if b else "none" for b in e] + ["output"]


@pytest.fixture(scope="module")
def chain():
    return ChainSpace()


def _data(sp):
    cells = sp.elements()
    y = np.linspace(0.5, 0.9, len(cells)).astype(np.float32)
    return cells, y


def test_structural_targets_of_known_nb201_cells():
    sp = resolve_space(None)
    cells = [sp.parse("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"),
             sp.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"),
             sp.parse("|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|none~2|")]
    raw, names = structural_targets(sp, sp.canonical(cells))
    got = {n: raw[:, i].tolist() for i, n in enumerate(names)}
    assert got["live_nor_conv_3x3"] == [3, 0, 0]
    assert got["live_skip_connect"] == [1, 1, 0]
    assert got["live_nor_conv_1x1"] == [0, 0, 0]  # the 1x1 of the third cell feeds nothing that reaches the output
    assert got["longest_live_path"] == [3, 1, 0]
    assert got["longest_heavy_path"] == [3, 0, 0]
    assert got["log1p_live_paths"] == pytest.approx(np.log1p([2, 1, 0]).tolist())
    # the params proxy's count of the effective form: more live 3x3 convolutions, more parameters
    assert got["log10_params"][0] > got["log10_params"][1] == got["log10_params"][2]


def test_pretraining_set_covers_every_form_once_standardised(chain):
    forms, targets, names = pretrain_set(chain, effective=True)
    assert sorted(forms.tolist()) == list(range(8))  # no equivalence: every element is its own form
    assert targets.dtype == np.float32 and targets.shape == (8, len(names))
    assert np.allclose(targets.mean(axis=0), 0, atol=1e-6) and np.allclose(targets.std(axis=0), 1, atol=1e-5)


def test_pretraining_lowers_the_structural_loss(chain):
    def loss_after(epochs):
        torch.manual_seed(0)
        model = ACTPredictor(space=chain, **TINY)._build()
        return pretrain(model, chain, effective=True, epochs=epochs, lr=3e-3, batch_size=4, steps=1,
                        weight_decay=0.0, grad_clip=1.0, warmup=0.05, seed=0)

    n, first = loss_after(1)
    assert n == 8
    assert loss_after(150)[1] < 0.5 * first


def test_fit_changes_only_when_pretraining_is_on(chain):
    cells, y = _data(chain)
    plain = ACTPredictor(space=chain, **TINY).fit(cells, y)
    off = ACTPredictor(space=chain, pretrain_epochs=0, pretrain_lr=0.5, pretrain_batch_size=2, **TINY).fit(cells, y)
    on = ACTPredictor(space=chain, pretrain_epochs=3, **TINY).fit(cells, y)
    assert np.array_equal(plain.predict(cells), off.predict(cells))
    assert plain.n_unlabelled_ == off.n_unlabelled_ == 0
    assert not np.allclose(plain.predict(cells), on.predict(cells))
    assert np.all(np.isfinite(on.predict(cells)))


def test_pretraining_counts_the_unlabelled_elements_read(chain):
    cells, y = _data(chain)
    model = ACTPredictor(space=chain, pretrain_epochs=1, n_models=2, **TINY).fit(cells[:4], y[:4])
    assert model.n_unlabelled_ == chain.size == 8  # all of the space, though only 4 cells were labelled
    assert model.n_pretrain_forms_ == 8


def test_pretraining_refuses_a_space_without_element_graphs_in_one_line():
    sp = BitSpace()
    cells, y = _data(sp)
    ACTPredictor(space=sp, **TINY).fit(cells, y)  # without pretraining the space is fine
    with pytest.raises(UserError, match="pretrain_epochs") as err:
        ACTPredictor(space=sp, pretrain_epochs=2, **TINY).fit(cells, y)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [dict(pretrain_epochs=-1), dict(pretrain_epochs=2, pretrain_lr=0.0),
                                 dict(pretrain_epochs=2, pretrain_batch_size=0)])
def test_bad_pretraining_settings_are_one_line_errors(chain, bad):
    cells, y = _data(chain)
    with pytest.raises(UserError, match="pretrain"):
        ACTPredictor(space=chain, **{**TINY, **bad}).fit(cells, y)
