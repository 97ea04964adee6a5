"""The fault suite's fixtures: the integration fixtures (real broker, topics of the test's
own), and the faults table printed at the end of the run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.faults.harness import LAUNCHED, RESULTS
from tests.integration.conftest import (  # noqa: F401  (fixtures)
    kafka_bootstrap,
    local_kafka,
    settings,
)

# What a failed fault test prints of each worker's log (CI shows nothing else of them):
# the lines that say what the worker did about its partitions and what went wrong.
NOTABLE = ("WARNING", "ERROR", "reading again", "refused", "stopped", "assigned")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = (yield).get_result()
    if report.when == "call" and report.failed:
        for worker in LAUNCHED:
            lines = [line for line in worker.log().splitlines() if any(n in line for n in NOTABLE)]
            title = f"{worker.log_path.name}, notable lines"
            report.sections.append((title, "\n".join(lines[-60:])))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Stop what a test launched and left running (it failed before its own stop), before
    the fixtures' teardown removes its namespace: never a worker left to spin."""
    while LAUNCHED:
        LAUNCHED.pop().stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS.exists():
        return
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    terminalreporter.section("faults tried (also in " + str(RESULTS) + ")")
    for row in rows:
        cells = ", ".join(f"{k}={v}" for k, v in row.items() if k != "at")
        terminalreporter.write_line(cells)
