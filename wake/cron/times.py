"""When a schedule's slots fall, and what a schedule says in words. Schedules are UTC.

cronsim computes the times (Healthchecks' cron engine: day-of-month and day-of-week
combined as Vixie cron does); cron-descriptor says them in words for `wake cron`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _utc(moment: float | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment.astimezone(timezone.utc)
    return datetime.fromtimestamp(moment, tz=timezone.utc)


def latest_slot(schedule: str, now: float | datetime) -> datetime:
    """The most recent slot at or before `now` (a slot is a whole minute)."""
    from cronsim import CronSim

    # Slots are whole minutes; reverse iteration starts strictly before its start.
    start = _utc(now).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return next(iter(CronSim(schedule, start, reverse=True)))


def next_slot(schedule: str, now: float | datetime) -> datetime:
    """The first slot after `now`."""
    from cronsim import CronSim

    return next(iter(CronSim(schedule, _utc(now))))


def in_words(schedule: str) -> str:
    """'*/10 * * * *' -> 'Every 10 minutes (UTC)'."""
    from cron_descriptor import Options, get_description

    options = Options()
    options.use_24hour_time_format = True
    try:
        return f"{get_description(schedule, options)} (UTC)"
    except Exception:  # noqa: BLE001 - words are a courtesy; the schedule itself is checked
        return f"{schedule} (UTC)"


def stamp(slot: datetime) -> str:
    """A slot as a KV key part: 20261126T0910Z."""
    return _utc(slot).strftime("%Y%m%dT%H%MZ")


def from_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc)
