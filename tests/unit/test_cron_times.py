"""Slots of a schedule (UTC), in words, as KV keys; the manifest's cron `timeout`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from wake.cron import times
from wake.errors import UsageError
from wake.manifest import parse


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


@pytest.mark.parametrize(("schedule", "now", "latest", "upcoming"), [
    ("* * * * *", utc(2026, 11, 26, 9, 0, 0), utc(2026, 11, 26, 9, 0), utc(2026, 11, 26, 9, 1)),
    ("* * * * *", utc(2026, 11, 26, 9, 0, 59), utc(2026, 11, 26, 9, 0), utc(2026, 11, 26, 9, 1)),
    ("*/10 * * * *", utc(2026, 11, 26, 9, 9, 59), utc(2026, 11, 26, 9, 0),
     utc(2026, 11, 26, 9, 10)),
    ("0 3 * * 1-5", utc(2026, 11, 28, 12, 0), utc(2026, 11, 27, 3, 0),  # a Saturday
     utc(2026, 11, 30, 3, 0)),
    ("30 2 * * *", utc(2026, 3, 29, 2, 31), utc(2026, 3, 29, 2, 30),  # no DST in UTC
     utc(2026, 3, 30, 2, 30)),
])
def test_latest_and_next_slot(schedule: str, now: datetime, latest: datetime,
                              upcoming: datetime) -> None:
    assert times.latest_slot(schedule, now) == latest
    assert times.latest_slot(schedule, now.timestamp()) == latest
    assert times.next_slot(schedule, now) == upcoming


def test_stamps_round_trip_and_sort_by_time() -> None:
    slots = [utc(2026, 11, 26, 9, 59), utc(2026, 11, 26, 10, 0), utc(2027, 1, 1, 0, 0)]
    stamps = [times.stamp(s) for s in slots]
    assert stamps == sorted(stamps) and stamps[0] == "20261126T0959Z"
    assert [times.from_stamp(s) for s in stamps] == slots


def test_in_words_says_utc() -> None:
    assert times.in_words("*/10 * * * *") == "Every 10 minutes (UTC)"
    assert times.in_words("0 3 * * 1-5") == "At 03:00, Monday through Friday (UTC)"


def test_cron_timeout_defaults_and_bounds(tmp_path: Path) -> None:
    def manifest(job: dict[str, object]) -> str:
        return json.dumps({"name": "a", "cron_jobs": [{"run": "* * * * * x", **job}]})

    source = tmp_path / "manifest.json"
    assert parse(manifest({}), source).cron_jobs[0].timeout == 3600
    assert parse(manifest({"timeout": 60}), source).cron_jobs[0].timeout == 60
    for bad in (0, 86401, "60", 1.5):
        with pytest.raises(UsageError, match="timeout"):
            parse(manifest({"timeout": bad}), source)
