"""Single-seed labels (the field's protocol) and the scoreboard's settings of a [[search]] block:
one training seed's result per evaluation, no redraw on a repeat, refusal where the data holds means
only, and one-line refusals of bad labels, marks and eps before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench_rank.cli import main
from nasbench_rank.errors import UserError
from nasbench_rank.loop.oracle import Oracle
from nasbench_rank.loop.protocol import Request


@pytest.fixture(scope="module")
def nb201():
    from nasbench_rank.spaces import load

    return load("nb201")


def test_a_seed_label_is_one_training_seeds_result_drawn_with_the_runs_rng(nb201):
    per_seed = nb201.per_seed("cifar100", "valid")
    cells = nb201.space.sample(np.random.default_rng(0), 40)
    ordinals = nb201.space.ordinals(cells)

    def values(seed):
        oracle = Oracle(nb201, "cifar100", "valid", noise="seed", rng=np.random.default_rng(seed))
        return [oracle.to_metric(oracle.evaluate(Request(tuple(int(v) for v in c))).value) for c in cells]

    first = values(1)
    for v, o in zip(first, ordinals):
        seeds = per_seed[o][np.isfinite(per_seed[o])]
        assert np.min(np.abs(seeds - v)) < 1e-3  # one of that cell's seeds, not the mean
    assert values(1) == first  # the run's rng reproduces the draws
    assert values(2) != first
    means = nb201.values("cifar100", "valid")[ordinals]
    assert sum(abs(v - m) > 1e-3 for v, m in zip(first, means)) > 20  # most draws differ from the mean


def test_a_repeated_query_does_not_redraw_and_is_free(nb201):
    oracle = Oracle(nb201, "imagenet16", "valid", noise="seed", rng=np.random.default_rng(3))
    cell = tuple(int(v) for v in nb201.space.sample(np.random.default_rng(1), 1)[0])
    first = oracle.evaluate(Request(cell))
    again = [oracle.evaluate(Request(cell)) for _ in range(5)]
    assert all(o.value == first.value and o.cost == 0.0 for o in again)
    assert oracle.n_evals == 1


def one_line_exit_2(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_seed_labels_on_a_space_with_means_only_are_refused_in_one_line(tmp_path, capsys):
    err = one_line_exit_2(capsys, ["run", "--space", "nbgraph", "--dataset", "cora", "--search", "random",
                                   "--oracle", "seed", "--budget", "5", "--out-dir", str(tmp_path / "run")])
    assert "no per-seed results" in err
    assert not (tmp_path / "run").exists()


def test_run_search_refuses_a_regret_mark_past_the_budget_and_a_bad_eps_before_work(nb201):
    from nasbench_rank.loop.runs import run_search

    with pytest.raises(UserError, match="regret mark 300 does not exist in a run of budget 100"):
        run_search(None, "random", dataset="cifar10", budget=100, table=nb201, regret_marks=[25, 300])
    with pytest.raises(UserError, match="eps must be a positive number"):
        run_search(None, "random", dataset="cifar10", budget=100, table=nb201, eps=[0.2, -1])


def test_every_run_row_and_trace_row_carries_regret(nb201):
    from nasbench_rank.loop.runs import run_search

    row, trace = run_search(None, "random", dataset="cifar100", budget=30, seed=4, table=nb201, oracle="seed")
    assert row["oracle"] == "seed"
    assert {"regret_at_10", "regret_at_25", "final_regret", "evals_to_hit_0.2", "regret_auc"} <= set(row)
    assert "regret_at_50" not in row
    assert [r["regret"] for r in trace][-1] == row["final_regret"]
    assert all(r["regret"] >= 0 for r in trace)
    best = max(trace, key=lambda r: (r["value"], -r["eval"]))  # the incumbent by observed value
    assert trace[-1]["best_index"] == best["index"]


SPEC = """
name = "sb"
[[search]]
searches = ["random"]
datasets = ["cifar10"]
budget = 30
seeds = 2
{extra}
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sb.toml"
    path.write_text(SPEC.format(extra=extra))
    return path


def test_labels_are_an_axis_and_the_default_keeps_cell_ids(tmp_path):
    from nasbench_rank.grid import spec

    plain = spec.load(write(tmp_path, ""))
    both = spec.load(write(tmp_path, 'labels = ["mean", "seed"]\nregret_marks = [10, 25]'))
    assert len(both) == 2 * len(plain)
    assert sorted(c.settings.get("oracle", "mean") for c in both.cells) == ["mean", "mean", "seed", "seed"]
    marked = [c for c in both.cells if "oracle" not in c.settings]
    assert all(c.settings["regret_marks"] == [10, 25] for c in both.cells)
    again = spec.load(write(tmp_path, 'labels = "mean"'))
    assert [c.id for c in again.cells] == [c.id for c in plain.cells]
    assert {c.id for c in marked}.isdisjoint({c.id for c in plain.cells})  # marks change what a cell writes


@pytest.mark.parametrize("extra, message", [
    ('labels = "noisy"', "labels = 'noisy': must be one of mean, seed"),
    ("regret_marks = [10, 50]", "regret mark 50 does not exist in a run of budget 30"),
    ("eps = [0.2, 0]", "eps must be a positive number, got 0"),
    ('eps = "x"', "eps must be a positive number"),
    ("refit_every = 0", "refit_every must be an integer >= 1"),
])
def test_bad_scoreboard_settings_are_refused_before_work(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exc:
        main(["bench", str(write(tmp_path, extra)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err
    assert not (tmp_path / "out").exists()


def test_seed_labels_on_nbgraph_are_refused_by_the_spec(tmp_path, capsys):
    path = tmp_path / "g.toml"
    path.write_text('name = "g"\n[[search]]\nspace = "nbgraph"\nsearches = ["random"]\ndatasets = ["cora"]\n'
                    'budget = 10\nlabels = "seed"\n')
    with pytest.raises(SystemExit) as exc:
        main(["bench", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "has no per-seed results" in err and "means only" in err


def test_a_seed_label_cell_runs_with_seed_labels_through_the_grid(tmp_path):
    from nasbench_rank.grid import harness, spec

    cells = spec.load(write(tmp_path, 'labels = "seed"\nregret_marks = [10]')).cells
    out = harness.default_runner("search", cells[0].settings)
    assert out["rows"][0]["oracle"] == "seed" and "regret_at_10" in out["rows"][0]
    assert "regret_at_25" not in out["rows"][0]
