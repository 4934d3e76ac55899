"""Plot conventions: percent, y = x on scatter plots, the optimum as a line, bands inside what the
seeds reached, one colour per configuration in every panel, legends that name the configuration."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from nasbench_rank.report import plots


@pytest.fixture
def figures(monkeypatch, tmp_path):
    """The figures the plot functions would save, kept open for inspection."""
    kept = []
    monkeypatch.setattr(plots, "save", lambda fig, path: kept.append(fig))
    return kept


def line_colours(ax, label_prefix=""):
    return {line.get_label(): to_rgba(line.get_color()) for line in ax.get_lines()
            if line.get_label().startswith(label_prefix) and not line.get_label().startswith("_")}


def test_scatter_is_in_percent_with_y_equals_x(figures, tmp_path):
    points = pd.DataFrame({"index": [1, 2, 3, 4], "target": ["cifar10"] * 4,
                           "true": [0.90, 0.85, 0.80, 0.93], "predicted": [0.88, 0.86, 0.79, 0.91]})
    assert plots.plot_scatter(points, "xgb", tmp_path / "s.png")
    ax = figures[0].axes[0]
    diagonal = [line for line in ax.get_lines() if line.get_label() == "y = x"][0]
    x, y = diagonal.get_data()
    assert np.allclose(x, y) and x[0] <= 79.0 and x[-1] >= 93.0  # percent, covering every point
    offsets = ax.collections[0].get_offsets()
    assert offsets[:, 0].max() == pytest.approx(93.0) and "(%)" in ax.get_xlabel() and "(%)" in ax.get_ylabel()


def trace_frame():
    rows, runs = [], []
    for dataset, top in (("cifar10", 94.0), ("cifar100", 73.0)):
        for method in ("random", "evolution"):
            for seed in range(4):
                best = np.minimum(top, np.maximum.accumulate(top - 5 + np.random.default_rng([seed, len(method)]).uniform(0, 5, 20)))
                cell = f"{dataset}-{method}-{seed}"
                rows += [{"predictor": "none", "search": method, "dataset": dataset, "seed": seed, "cell_id": cell,
                          "eval": e + 1, "best_test": b} for e, b in enumerate(best)]
                runs.append({"predictor": "none", "search": method, "dataset": dataset, "seed": seed, "optimum_test": top + 0.3})
    return pd.DataFrame(rows), pd.DataFrame(runs)


def test_search_trace_bands_optimum_and_colours(figures, tmp_path):
    trace, runs = trace_frame()
    assert plots.plot_traces(trace, runs, ["predictor", "search", "dataset"], tmp_path / "t.png")
    fig = figures[0]
    first, second = fig.axes[:2]
    colours = [line_colours(ax) for ax in (first, second)]
    assert set(colours[0]) >= {"random", "evolution"}
    assert colours[0]["random"] == colours[1]["random"] != colours[0]["evolution"]  # same colour in every panel
    for ax, (dataset, top) in zip((first, second), (("cifar10", 94.0), ("cifar100", 73.0))):
        optimum = [line for line in ax.get_lines() if line.get_label().startswith("optimum")]
        assert optimum and np.allclose(optimum[0].get_ydata(), top + 0.3)
        data = trace[trace.dataset == dataset]["best_test"]
        for band in ax.collections:  # bands never leave what the seeds reached
            ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
            assert data.min() - 1e-9 <= ys.min() and ys.max() <= data.max() + 1e-9
    legend = fig.legends[0]
    assert {"random", "evolution"} <= {t.get_text() for t in legend.get_texts()}


def test_kendall_plot_uses_bootstrap_bars_inside_the_data(figures, tmp_path):
    rows = pd.DataFrame({"predictor": ["a"] * 6 + ["b"] * 6, "target": (["c10"] * 3 + ["c100"] * 3) * 2,
                         "n_train": 100, "seed": [0, 1, 2] * 4,
                         "kendall": [0.5, 0.6, 0.7, 0.4, 0.5, 0.6, 0.2, 0.3, 0.25, 0.1, 0.2, 0.3]})
    assert plots.plot_kendall_vs_ntrain(rows, ["predictor", "target", "n_train"], tmp_path / "k.png")
    axes = figures[0].axes[:2]
    a = [c for c in axes[0].containers if c.get_label() == "a"][0]
    lo_hi = a.lines[2][0].get_segments()[0][:, 1]  # the error bar of the one point
    assert 0.5 <= lo_hi.min() and lo_hi.max() <= 0.7
    colour = [{c.get_label(): to_rgba(c.lines[0].get_color()) for c in ax.containers} for ax in axes]
    assert colour[0]["a"] == colour[1]["a"] != colour[0]["b"]


def test_kendall_plot_gives_each_named_protocol_its_own_panel(figures, tmp_path):
    rows = pd.DataFrame({"predictor": ["a"] * 8, "target": "cifar10", "seed": [0, 1] * 4,
                         "protocol": ["pinat"] * 4 + ["naslib"] * 4, "n_train": [78, 78, 1563, 1563, 100, 100, 1000, 1000],
                         "kendall": [0.5, 0.6, 0.7, 0.8, 0.4, 0.5, 0.6, 0.7]})
    assert plots.plot_kendall_vs_ntrain(rows, ["predictor", "target", "n_train", "protocol"], tmp_path / "k.png")
    axes = [ax for ax in figures[0].axes if ax.get_visible() and ax.get_title()]
    assert sorted(ax.get_title() for ax in axes) == ["target cifar10, protocol naslib", "target cifar10, protocol pinat"]
    ticks = {ax.get_title(): [t.get_text() for t in ax.get_xticklabels()] for ax in axes}
    assert ticks["target cifar10, protocol pinat"] == ["78", "1563"]
    assert all(c.get_label() == "a" for ax in axes for c in ax.containers)  # the panel names the protocol
