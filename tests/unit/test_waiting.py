"""wait_until: the one bounded wait."""

from __future__ import annotations

import time

import pytest

from wake.errors import WakeError
from wake.waiting import Pending, wait_until


def test_returns_the_first_true_value() -> None:
    seen = iter([None, False, "ready"])
    assert wait_until(lambda: next(seen), 5, "x", interval=0.01) == "ready"


def test_pending_is_retried_and_named_on_timeout() -> None:
    def never() -> None:
        raise Pending("2 of 3 servers")

    started = time.monotonic()
    with pytest.raises(WakeError, match=r"a leader: not within 0.2 s \(last: 2 of 3 servers\); "
                                        "see the logs"):
        wait_until(never, 0.2, "a leader", interval=0.05, hint="see the logs")
    assert time.monotonic() - started < 2


def test_other_errors_end_the_wait_at_once() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise WakeError("permission denied")

    with pytest.raises(WakeError, match="^permission denied$"):
        wait_until(refused, 5, "x", interval=0.01)
    assert calls == [1]


def test_retry_on_names_transient_errors() -> None:
    class Flaky(WakeError):
        pass

    seen = iter([Flaky("no answer"), Flaky("no answer"), 7])

    def ask() -> int:
        value = next(seen)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(ask, 5, "x", interval=0.01, retry_on=(Flaky,)) == 7
