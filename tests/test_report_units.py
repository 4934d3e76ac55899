"""The leaderboard speaks each space's metric: FCNet's validation MSE and NAS-Bench-Graph's
performance are never called accuracy, never scaled by 100, and small values keep their significant
digits; legends are short and carry no checksum; every figure fits a page (<= 1600 px, <= 4:1)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nasbench_rank import report
from nasbench_rank.report import plots, regret_plots, units

SHA = {"fcnet": "583e6b45d18d1cd38dc2d823f3567724d92e451694fe82c5c89f80790a5ec620",
       "nbgraph": "9f1c0a3e5b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1c"}
ABOUT = {"fcnet": "fcnet defines no equivalence: every element (62,208), none has a functional twin",
         "nbgraph": "one element per equivalence class of nbgraph (26,206 of 59,040)"}
TASKS = [("fcnet", "protein_structure")] + [("nbgraph", d) for d in ("cora", "citeseer", "pubmed", "cs", "physics", "photo")]
LONG_KWARGS = json.dumps({"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8})
CHECKSUM = re.compile(r"[0-9a-f]{64}")


def eval_rows() -> pd.DataFrame:
    """Predictor quality on FCNet (MAE in -log MSE units, about 0.155) and NAS-Bench-Graph (MAE in
    performance fractions, about 0.0123), two predictors, three seeds, two training sizes."""
    rows = []
    for space, target in TASKS:
        mae = 0.155 if space == "fcnet" else 0.0123
        for predictor, kwargs in (("xgb", LONG_KWARGS), ("rf", "")):
            for n_train in (100, 400):
                for seed in range(3):
                    rows.append({"predictor": predictor, "predictor_kwargs": kwargs, "space": space, "target": target,
                                 "source": target, "metric": "valid", "score_metric": "valid", "pool": "functional",
                                 "pool_about": ABOUT[space], "target_sha256": SHA[space], "table_sha256": SHA[space],
                                 "n_train": n_train, "n_test": 1000, "seed": seed, "kendall": 0.5 + 0.01 * seed,
                                 "spearman": 0.7, "r2": 0.4, "mae": mae * (1 + 0.01 * (seed - 1)),
                                 "precision_top5pct": 0.4, "fit_seconds": 1.0})
    return pd.DataFrame(rows)


def search_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Searches on FCNet (best validation MSE about 3.2e-4, lower is better) and NAS-Bench-Graph
    (best test performance about 0.81), with traces and regrets."""
    rows, trace = [], []
    for space, dataset in TASKS[:2]:
        fcnet = space == "fcnet"
        optimum = 3.0e-4 if fcnet else 0.83
        for search, kwargs in (("random", ""), ("re", json.dumps({"population": 20, "sample": 5, "mutation_rate": 1.0}))):
            for seed in range(3):
                best = np.array([optimum * (1 + 2.0 / (t + 1)) if fcnet else optimum - 0.1 / (t + 1) for t in range(30)])
                regret = np.abs(np.log(best / optimum)) if fcnet else optimum - best
                trace += [{"predictor": "none", "search": search, "dataset": dataset, "seed": seed, "eval": t + 1,
                           "best_test": b * (1 + 0.01 * seed), "regret": r, "space": space, "metric": "valid",
                           **({"gpu_hours": 0.01 * (t + 1)} if fcnet else {})}
                          for t, (b, r) in enumerate(zip(best, regret))]
                rows.append({"predictor": "none", "search": search, "search_kwargs": kwargs, "dataset": dataset,
                             "budget": 30, "evals": 30, "seed": seed, "space": space, "metric": "valid",
                             "report_metric": "valid" if fcnet else "test", "direction": "min" if fcnet else "max",
                             "oracle": "mean", "best_test": best[-1] * (1 + 0.01 * seed),
                             "best_valid": best[-1] * (1 + 0.01 * seed), "optimum_test": optimum,
                             "evals_to_optimum": np.nan, "reached_optimum": False, "final_regret": regret[-1],
                             "regret_at_25": regret[24], "regret_eps": "0.01;0.02;0.05" if fcnet else "0.001;0.002;0.005",
                             "table_sha256": SHA[space]})
    return pd.DataFrame(rows), pd.DataFrame(trace)


@pytest.fixture
def drawn(monkeypatch):
    """Every figure the leaderboard saves, kept for inspection (and still written)."""
    kept = []
    save = plots.save

    def keep(fig, path):
        kept.append((fig, path))
        save(fig, path)

    monkeypatch.setattr(plots, "save", keep)
    monkeypatch.setattr(regret_plots, "save", keep, raising=False)
    return kept


@pytest.fixture
def board(tmp_path, drawn):
    root = tmp_path / "res"
    root.mkdir()
    eval_rows().to_csv(root / "eval.csv", index=False)
    runs, trace = search_rows()
    (root / "search").mkdir()
    runs.to_csv(root / "search" / "runs.csv", index=False)
    trace.to_csv(root / "search" / "trace.csv", index=False)
    written = report.write(root)
    return root / "leaderboard", written, drawn


def table_lines(text: str, heading: str) -> list[str]:
    """The table rows (lines starting with '|') of the section under `heading`, up to the next '## '."""
    part = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("|")]


def test_tables_on_fcnet_and_nbgraph_name_their_metric_and_do_not_scale_mae_by_100(board):
    out, _, _ = board
    text = (out / "leaderboard.md").read_text()
    assert "accuracy" not in text and "% points" not in text and "best test %" not in text
    quality = text.split("## Predictor quality", 1)[1].split("\n## Search", 1)[0]
    headers = [line for line in quality.splitlines() if line.startswith("| predictor")]
    assert any("MAE" in h and "MSE" in h for h in headers), headers  # the header says the unit
    assert any("MAE" in h and "performance" in h for h in headers), headers
    rows = [line for line in quality.splitlines() if line.startswith("| ") and "---" not in line]
    cells = " ".join(rows)
    assert "0.155" in cells and "15.5" not in cells  # FCNet MAE in -log MSE units, as computed
    assert "0.0123" in cells and "1.23" not in cells  # NAS-Bench-Graph MAE in performance fractions


def test_small_mse_prints_with_its_significant_digits(board):
    out, _, _ = board
    text = (out / "leaderboard.md").read_text()
    search = text.split("## Search", 1)[1]
    assert "0.00 [0.00, 0.00]" not in search
    assert re.search(r"3\.2\de-04 \[", search), search  # median best validation MSE 3.23e-4 [low, high]
    assert "MSE" in search and "performance" in search


def texts_of(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
    return [t for t in out if t]


def legends_of(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for leg in legends for t in [*leg.get_texts(), leg.get_title()] if t.get_text()]


def test_figures_on_fcnet_and_nbgraph_label_axes_with_the_space_metric(board):
    _, _, drawn = board
    names = {path.name: fig for fig, path in drawn}
    assert {"search_trace.png", "kendall_vs_ntrain.png", "regret_curves_evals.png"} <= set(names)
    for fig, path in drawn:
        for text in texts_of(fig) + legends_of(fig):
            assert "accuracy" not in text, (path.name, text)
    labels = {ax.get_title(): ax.get_ylabel() for ax in names["search_trace.png"].axes if ax.get_visible()}
    fcnet = [y for t, y in labels.items() if "protein_structure" in t]
    graph = [y for t, y in labels.items() if "cora" in t]
    assert fcnet and "MSE" in fcnet[0] and "%" not in fcnet[0]
    assert graph and "performance" in graph[0] and "%" not in graph[0]
    regret = {ax.get_title(): ax.get_ylabel() for ax in names["regret_curves_evals.png"].axes if ax.get_visible()}
    assert any("MSE" in y for t, y in regret.items() if "protein_structure" in t)


def test_legends_are_short_and_carry_no_checksum(board):
    _, _, drawn = board
    assert drawn
    for fig, path in drawn:
        for text in legends_of(fig):
            assert len(text) <= 40, (path.name, text)
        for text in texts_of(fig) + legends_of(fig):
            assert not CHECKSUM.search(text), (path.name, text)


def test_every_written_png_fits_a_page(board):
    out, written, _ = board
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) >= 5
    for png in pngs:
        width, height = Image.open(png).size
        assert width <= 1600 and max(width / height, height / width) <= 4.0, (png.name, width, height)


def test_scatter_of_fcnet_is_in_minus_log_mse_not_percent(drawn, tmp_path):
    # a space's predictions CSV: `true` in the metric's units (MSE), `predicted` a utility (-log MSE)
    mse = np.array([2e-4, 5e-4, 1e-3, 3e-3])
    points = pd.DataFrame({"index": range(4), "target": "protein_structure", "true": mse,
                           "predicted": -np.log(mse) + 0.1})
    assert plots.plot_scatter(points, "xgb", tmp_path / "s.png", units.scale_of("fcnet", "valid"), in_metric_units=True)
    ax = drawn[0][0].axes[0]
    x = ax.collections[0].get_offsets()[:, 0]
    assert np.allclose(np.sort(x), np.sort(-np.log(mse)), rtol=1e-5)
    assert "MSE" in ax.get_xlabel() and "%" not in ax.get_xlabel() + ax.get_ylabel()


@pytest.mark.parametrize("value, expected", [(3.1e-4, "3.10e-04"), (0.8123, "0.812"), (94.3733, "94.4"),
                                             (0.0123, "0.0123"), (12.0, "12.0")])
def test_numbers_keep_three_significant_digits(value, expected):
    assert units.significant(value, 3) == expected


def test_readme_headline_of_an_fcnet_search_names_its_metric_and_keeps_small_values(tmp_path):
    from nasbench_rank.report import pages

    board = tmp_path / "results" / "fc" / "leaderboard"
    board.mkdir(parents=True)
    head = ("predictor,search,mode,source,dataset,n_train,budget,metric,space,report_metric,measure,n,median,"
            "median_boot95_low,median_boot95_high,reached,km_median\n")
    (board / "leaderboard_search.csv").write_text(
        head + "none,random,none,,protein_structure,0,100,valid,fcnet,valid,best_test,5,3.12e-4,3.05e-4,3.3e-4,,\n"
               "none,random,none,,protein_structure,0,100,valid,fcnet,valid,evals_to_threshold,5,,,,2,\n")
    text = pages.headline(board.parent, tmp_path)
    assert "best validation MSE after 100 evaluations" in text and "accuracy" not in text and "(%)" not in text
    assert "3.12e-04 [3.05e-04, 3.30e-04]" in text
