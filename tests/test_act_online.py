"""The ACT predictor's online and placement settings: `partial_fit` continues from the fitted
weights, the `device` setting, EMA weights, test-time forms and the halting-step readout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import UserError
from nasbench_rank.predictors.act import ACTPredictor, resolve_device
from nasbench_rank.predictors.losses import MixedLoss
from nasbench_rank.predictors.act_cells import space_index

TINY = dict(hidden=16, heads=2, expansion=2.0, epochs=3, batch_size=16, tta=2, partial_epochs=4,
            loss_fn=MixedLoss())  # built by hand, so the loss object is passed


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    cells = space.sample(rng, 64)
    y = rng.uniform(0.85, 0.95, size=64).astype(np.float32)
    return cells, y


def test_partial_fit_moves_predictions_toward_the_new_labels(data):
    cells, y = data
    new_y = (1.9 - y).astype(np.float32)  # the order of the first fit's labels reversed
    model = ACTPredictor(seed=1, **TINY).fit(cells, y)
    before = np.abs(model.predict(cells) - new_y).mean()
    model.partial_fit(cells, new_y)
    after = np.abs(model.predict(cells) - new_y).mean()
    assert after < before
    assert model.n_partial_ == 1


def test_partial_fit_is_deterministic_and_continues_from_the_weights(data):
    cells, y = data
    grown = np.concatenate([cells, space.sample(np.random.default_rng(5), 16)])
    grown_y = np.concatenate([y, np.full(16, 0.9, dtype=np.float32)])
    a = ACTPredictor(seed=2, **TINY).fit(cells, y).partial_fit(grown, grown_y).predict(grown)
    b = ACTPredictor(seed=2, **TINY).fit(cells, y).partial_fit(grown, grown_y).predict(grown)
    np.testing.assert_array_equal(a, b)
    # at a vanishing learning rate partial_fit keeps the fitted model: it does not refit from scratch
    fitted = ACTPredictor(seed=2, **{**TINY, "partial_lr": 1e-12}).fit(cells, y)
    first = fitted.predict(grown)
    np.testing.assert_allclose(fitted.partial_fit(grown, grown_y).predict(grown), first, atol=1e-6)


def test_partial_fit_before_fit_is_a_fit(data):
    cells, y = data
    a = ACTPredictor(seed=3, **TINY).partial_fit(cells, y).predict(cells)
    b = ACTPredictor(seed=3, **TINY).fit(cells, y).predict(cells)
    np.testing.assert_array_equal(a, b)


def test_device_cpu_gives_the_default_results_on_a_machine_without_cuda(data):
    cells, y = data
    if torch.cuda.is_available():
        pytest.skip("the default device is CUDA here")
    assert resolve_device("auto") == torch.device("cpu")
    a = ACTPredictor(seed=4, **TINY).fit(cells, y).predict(cells)
    b = ACTPredictor(seed=4, device="cpu", **TINY).fit(cells, y).predict(cells)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(UserError, match="CUDA"):
        ACTPredictor(device="cuda", **TINY).fit(cells, y)
    with pytest.raises(UserError, match="unknown device"):
        ACTPredictor(device="abacus", **TINY).fit(cells, y)


def test_ema_weights_change_the_model_and_bad_decays_are_refused(data):
    cells, y = data
    plain = ACTPredictor(seed=5, **TINY).fit(cells, y).predict(cells)
    ema = ACTPredictor(seed=5, ema=0.9, **TINY).fit(cells, y).predict(cells)
    assert np.all(np.isfinite(ema)) and not np.array_equal(plain, ema)
    with pytest.raises(UserError, match="ema"):
        ACTPredictor(ema=1.0, **TINY).fit(cells, y)


def test_test_time_forms_include_the_cell_itself_and_stay_in_its_class():
    index = space_index()
    ordinals = np.arange(0, space.N_CELLS, 37)
    for effective in (True, False):
        forms, owner = index.tta_forms(ordinals, 4, effective)
        own = index.effective[ordinals] if effective else ordinals
        for i, o in enumerate(ordinals):
            mine = forms[owner == i]
            assert own[i] in mine and 1 <= len(mine) <= 4 and len(set(mine)) == len(mine)
            members = index.members[index.member_start[index.group[o]]:index.member_start[index.group[o] + 1]]
            allowed = set(index.effective[members]) if effective else set(members)
            assert set(mine) <= allowed


def test_copies_with_the_same_forms_get_the_same_prediction(data):
    cells, y = data
    model = ACTPredictor(seed=6, **{**TINY, "tta": 64}).fit(cells, y)
    index = space_index()
    big = np.flatnonzero(np.diff(index.member_start) >= 3)[0]  # a class with at least three members
    members = index.members[index.member_start[big]:index.member_start[big + 1]]
    pred = model.predict(space.all_cells()[members])
    np.testing.assert_allclose(pred, pred[0], rtol=0, atol=1e-7)


def test_halting_steps_lie_between_one_and_the_last_step(data):
    cells, y = data
    model = ACTPredictor(seed=7, halt_max_steps=3, **TINY).fit(cells, y)
    steps = model.halting_steps(cells)
    assert steps.shape == (len(cells),) and steps.dtype == np.int64
    assert steps.min() >= 1 and steps.max() <= 3
    torch.nn.init.constant_(model.models_[0].halt_head.bias, 50.0)
    torch.nn.init.zeros_(model.models_[0].halt_head.weight)
    assert np.all(model.halting_steps(cells) == 1)


def test_min_steps_lengthens_fits_on_few_cells_only(data, monkeypatch):
    cells, y = data
    seen = []
    original = ACTPredictor._train

    def recording(self, model, ordinals, labels, epochs, lr, seed):
        seen.append(epochs)
        return original(self, model, ordinals, labels, epochs, lr, seed)

    monkeypatch.setattr(ACTPredictor, "_train", recording)
    ACTPredictor(min_steps=40, **TINY).fit(cells, y)  # 64 cells in batches of 16: 4 steps an epoch
    ACTPredictor(min_steps=8, **TINY).fit(cells, y)
    assert seen == [10, TINY["epochs"]]
