"""The strategy in README's "Writing a search strategy" runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

from nasbench_rank.plugins import Entry, get_plugins
from nasbench_rank.loop.runs import run_search

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> dict:
    text = README.read_text()
    section = text[text.index("## Writing a search strategy"):text.index("<!-- end section: strategy -->")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_readme_strategy_runs_with_and_without_a_predictor_and_with_workers(table):
    strategy = _example()["GreedyWalk"]
    registry = get_plugins().searches
    registry.add(Entry("greedy-walk-test-only", "search", strategy, "tests", ""))
    try:
        plain, trace = run_search(None, "greedy-walk-test-only", dataset="cifar100", budget=30, seed=1, table=table)
        guided, _ = run_search("xgb", "greedy-walk-test-only", mode="online", budget=30, seed=1, table=table,
                               predictor_kwargs={"n_estimators": 5, "max_depth": 2})
        parallel, _ = run_search(None, "greedy-walk-test-only", budget=30, seed=1, workers=4, table=table)
    finally:
        del registry._entries["greedy-walk-test-only"]
    assert len({r["index"] for r in trace}) == plain["evals"] > 5
    assert guided["n_fits"] > 0 and guided["evals"] > 5 and parallel["evals"] > 5
