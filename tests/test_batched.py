"""Fitting many ACT models in one pass: K networks trained as one stacked computation give the
predictions of K separate fits (within 1e-5 on accuracy fractions), whatever mixes of seeds,
ensemble members and training sets they are; settings outside the stacked path still fit one by
one; the progress bar stays off the screen unless a terminal is watching."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.predictors import act_batched, batched
from nasbench_rank.predictors.act import ACTPredictor
from nasbench_rank.predictors.losses import MixedLoss

TINY = dict(hidden=16, heads=2, expansion=2.0, epochs=3, batch_size=16, tta=2)
HAND = {**TINY, "loss_fn": MixedLoss()}  # built by hand, so the loss object is passed
TOL = 1e-5  # accuracy fractions: stacked and separate fits sum their products in another order


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    cells = space.sample(rng, 80)
    y = rng.uniform(0.85, 0.95, size=80).astype(np.float32)
    return cells, y


def one_by_one(monkeypatch, build, cells_list, y_list):
    """Reference fits through the per-model path (`ACTPredictor._train`)."""
    with monkeypatch.context() as m:
        m.setattr(act_batched, "supports", lambda est, model: False)
        return [b.fit(c, y) for b, c, y in zip(build(), cells_list, y_list)]


def test_seeds_fitted_together_predict_as_seeds_fitted_alone(data, monkeypatch):
    cells, y = data
    build = lambda: [ACTPredictor(seed=s, **HAND) for s in (0, 1, 2)]  # noqa: E731
    alone = one_by_one(monkeypatch, build, [cells] * 3, [y] * 3)
    together = ACTPredictor.fit_many(build(), [cells] * 3, [y] * 3)
    preds = [m.predict(cells) for m in together]
    for a, t in zip(alone, preds):
        np.testing.assert_allclose(t, a.predict(cells), atol=TOL, rtol=0)
    assert np.abs(preds[0] - preds[1]).max() > 1e-3  # the seeds really differ


def test_each_model_keeps_its_own_training_set_and_labels(data, monkeypatch):
    cells, y = data
    other = space.sample(np.random.default_rng(5), 80)
    y2 = (1.0 - y).astype(np.float32)  # another label scale and order
    build = lambda: [ACTPredictor(seed=3, **HAND), ACTPredictor(seed=3, **HAND)]  # noqa: E731
    alone = one_by_one(monkeypatch, build, [cells, other], [y, y2])
    together = ACTPredictor.fit_many(build(), [cells, other], [y, y2])
    for a, t in zip(alone, together):
        np.testing.assert_allclose(t.predict(cells), a.predict(cells), atol=TOL, rtol=0)
        assert t.y_mean_ == a.y_mean_ and t.y_scale_ == a.y_scale_


def test_ensemble_members_train_together_as_they_would_alone(data, monkeypatch):
    cells, y = data
    build = lambda: [ACTPredictor(seed=0, n_models=3, **HAND)]  # noqa: E731
    alone = one_by_one(monkeypatch, build, [cells], [y])[0]
    together = ACTPredictor(seed=0, n_models=3, **HAND).fit(cells, y)
    np.testing.assert_allclose(together._predict_models(cells), alone._predict_models(cells), atol=TOL, rtol=0)
    np.testing.assert_allclose(together.predict_std(cells), alone.predict_std(cells), atol=TOL, rtol=0)


def test_different_sizes_and_settings_are_grouped_and_all_fitted(data, monkeypatch):
    cells, y = data
    calls = []
    original = act_batched.train_stacked

    def counting(models, *args, **kwargs):
        calls.append(len(models))
        return original(models, *args, **kwargs)

    monkeypatch.setattr(act_batched, "train_stacked", counting)
    ests = [ACTPredictor(seed=0, **HAND), ACTPredictor(seed=1, **HAND), ACTPredictor(seed=2, **HAND),
            ACTPredictor(seed=0, **{**HAND, "halt_max_steps": 2})]  # two ACT steps: not stacked
    xs, ys = [cells, cells, cells[:48], cells], [y, y, y[:48], y]
    fitted = ACTPredictor.fit_many(ests, xs, ys)
    assert calls == [2]  # the two 80-cell fits together; the 48-cell fit and the 2-step fit alone
    assert all(e.n_train_ == len(x) for e, x in zip(fitted, xs))
    ref = one_by_one(monkeypatch, lambda: [ACTPredictor(seed=0, **{**HAND, "halt_max_steps": 2})], [cells], [y])[0]
    np.testing.assert_array_equal(fitted[3].predict(cells), ref.predict(cells))


def test_fit_many_refuses_mismatched_lists(data):
    cells, y = data
    with pytest.raises(Exception, match="as many"):
        ACTPredictor.fit_many([ACTPredictor(**HAND)], [cells, cells], [y])


def test_the_generic_fit_many_uses_the_capability_or_plain_fits(data):
    cells, y = data

    class Plain:
        def __init__(self):
            self.fitted = False

        def fit(self, x, y):
            self.fitted = True
            return self

    plain = batched.fit_many([Plain(), Plain()], [cells, cells], [y, y])
    assert all(p.fitted for p in plain)
    assert batched.can_fit_many([ACTPredictor(), ACTPredictor()]) and not batched.can_fit_many(plain)


def test_progress_is_silent_off_a_terminal_and_where_switched_off(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    with batched.fit_progress(10) as bar:
        assert isinstance(bar, batched._Silent)
    monkeypatch.setattr("sys.stderr", Tty())
    monkeypatch.setenv(batched.PROGRESS_ENV, "0")
    with batched.fit_progress(10) as bar:
        assert isinstance(bar, batched._Silent)
    monkeypatch.delenv(batched.PROGRESS_ENV)
    with batched.fit_progress(10) as bar:
        assert not isinstance(bar, batched._Silent)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_fits_on_cuda_predict_as_on_the_cpu(data):
    cells, y = data
    cpu = ACTPredictor.fit_many([ACTPredictor(seed=s, device="cpu", **HAND) for s in (0, 1)], [cells] * 2, [y] * 2)
    gpu = ACTPredictor.fit_many([ACTPredictor(seed=s, device="cuda", **HAND) for s in (0, 1)], [cells] * 2, [y] * 2)
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g.predict(cells), c.predict(cells), atol=1e-3, rtol=0)


def test_an_ensemble_of_act_members_fits_them_together_as_alone(data, monkeypatch):
    from nasbench_rank.plugins import get_plugins

    cells, y = data
    calls = []
    original = act_batched.train_stacked

    def counting(models, *args, **kwargs):
        calls.append(len(models))
        return original(models, *args, **kwargs)

    build = lambda: get_plugins().predictors.create("ensemble", base="act", n_models=3, base_kwargs=TINY,  # noqa: E731
                                                    bootstrap=True, seed=4)
    alone = None
    with monkeypatch.context() as m:
        m.setattr(act_batched, "supports", lambda est, model: False)
        alone = build().fit(cells, y)
    monkeypatch.setattr(act_batched, "train_stacked", counting)
    together = build().fit(cells, y)
    assert calls == [3]
    np.testing.assert_allclose(together.predict(cells), alone.predict(cells), atol=TOL, rtol=0)
    np.testing.assert_allclose(together.predict_std(cells), alone.predict_std(cells), atol=TOL, rtol=0)


def test_seeds_evaluated_together_give_the_rows_of_separate_evaluations():
    from nasbench_rank.quality.protocol import evaluate_predictor, evaluate_seeds

    settings = dict(pool="functional", n_train=48, n_test=200, metric="valid", predictor_kwargs=TINY)
    together = list(evaluate_seeds("act-mixed", [3, 4], **settings))
    alone = [evaluate_predictor("act-mixed", seed=s, **settings) for s in (3, 4)]
    for t, a in zip(together, alone):
        assert [r["seed"] for r in t] == [r["seed"] for r in a]
        for rt, ra in zip(t, a):
            for key in ("kendall", "spearman", "mae", "r2"):
                assert abs(rt[key] - ra[key]) < 1e-3, key
            assert {k: v for k, v in rt.items() if k not in ("kendall", "spearman", "mae", "r2", "precision_top5pct",
                                                               "fit_seconds")} == \
                {k: v for k, v in ra.items() if k not in ("kendall", "spearman", "mae", "r2", "precision_top5pct",
                                                           "fit_seconds")}


def test_the_grid_switches_fit_progress_off_for_its_cells_and_restores_it(tmp_path, monkeypatch):
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_cells import fake_runner

    from nasbench_rank.grid import harness, spec

    path = tmp_path / "g.toml"
    path.write_text('name = "g"\n[defaults]\nseeds = 1\n[[eval]]\npredictors = ["xgb"]\nn_train = [100]\n')
    seen = []

    def runner(kind, settings):
        seen.append(os.environ.get(batched.PROGRESS_ENV))
        return fake_runner(kind, settings)

    monkeypatch.setenv(batched.PROGRESS_ENV, "1")
    harness.run_grid(spec.load(path), tmp_path / "out", workers=1, runner=runner, progress=False)
    assert seen == ["0"] and os.environ[batched.PROGRESS_ENV] == "1"
