"""Docker's RFC 3339 stamps (inspect's Created, State.StartedAt) read as Unix time."""

import pytest

from wake.engine import Container, epoch

NOON = 1795780800.0  # 2026-11-27T12:00:00Z


@pytest.mark.parametrize("stamp, expected", [
    ("2026-11-27T12:00:00Z", NOON),
    ("2026-11-27T12:00:00.123456789Z", NOON + 0.123456),  # nanoseconds cut to micro
    ("2026-11-27T12:00:00.5Z", NOON + 0.5),
    ("2026-11-27T13:00:00+01:00", NOON),  # an offset, not local time
    ("2026-11-27T12:00:00", NOON),  # no zone: the engine's are UTC
    ("0001-01-01T00:00:00Z", 0.0),  # never started
    ("", 0.0),
    ("yesterday", 0.0),
])
def test_stamps_read_as_unix_time(stamp: str, expected: float) -> None:
    assert epoch(stamp) == pytest.approx(expected, abs=1e-6)


def test_a_container_that_never_started_has_started_zero() -> None:
    assert Container("id", "name", "image", "created").started == 0.0
    assert Container("id", "n", "i", "running", started_at="2026-11-27T12:00:00Z").started == NOON
