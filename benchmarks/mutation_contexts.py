"""pytest plugin used by `benchmarks/mutation_sample.py` when it maps which tests run which lines.

Loaded with `-p mutation_contexts` under `coverage run` (with `patch = subprocess`): it labels the
coverage of each test with the test's node id, in the test's own process (coverage's dynamic context)
and in the Python processes it starts (their static context, handed down through the environment),
and writes each test's seconds to the JSON file named by the environment variable
`MUTATION_DURATIONS`. Nothing else: the tests run as CI runs them.
"""

from __future__ import annotations

import copy
import json
import os
import time

import pytest

_seconds: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    import coverage

    cov = coverage.Coverage.current()
    handed_down = os.environ.get("COVERAGE_PROCESS_CONFIG")
    if cov is not None:
        cov.switch_context(item.nodeid)
        if handed_down is not None:
            config = copy.copy(cov.config)
            config.context = item.nodeid
            os.environ["COVERAGE_PROCESS_CONFIG"] = config.serialize()
    start = time.perf_counter()
    try:
        yield
    finally:
        _seconds[item.nodeid] = round(time.perf_counter() - start, 4)
        if cov is not None:
            cov.switch_context("")
            if handed_down is not None:
                os.environ["COVERAGE_PROCESS_CONFIG"] = handed_down


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("MUTATION_DURATIONS")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(_seconds, fh)
