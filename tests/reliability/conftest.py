"""The reliability suite: the whole system under faults and load, on the session's real
three-host netns cluster (`site`, tests/conftest.py). Each test is seeded and bounded in
time and requests, and ends with one line of figures, gathered under "reliability figures"
at the end of the run (and in docs/reliability.md).

CI runs a few seeded runs of each; `--full` runs the counts docs/reliability.md names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

FIGURES: list[str] = []
# The order (docs/reliability.md); the load test last of those on the shared
# cluster, as its many instances stay until the session ends.
ORDER = ("test_host_killed", "test_client_killed", "test_random_actions", "test_traffic",
         "test_cron", "test_load", "test_secrets", "test_acl")


def _rank(item: pytest.Item) -> int:
    module = item.path.stem
    return next((n for n, name in enumerate(ORDER) if module.startswith(name)), len(ORDER))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    places = [n for n, item in enumerate(items) if "reliability" in str(item.path)]
    ordered = sorted((items[n] for n in places), key=_rank)  # stable within a module
    for n, item in zip(places, ordered, strict=True):
        item.add_marker(pytest.mark.reliability)
        items[n] = item


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session", autouse=True)
def _cleaned(remove_what_tests_made: None) -> None:
    """What the session's tests made goes when it ends (tests/conftest.py)."""


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """figures("...") records the test's summary line (printed too, for -s and failures)."""
    def say(line: str) -> None:
        text = f"{request.node.name}: {line}"
        print(text)
        FIGURES.append(text)
    return say
