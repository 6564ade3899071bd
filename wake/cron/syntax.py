"""Parse and check crontab lines: five schedule fields, then a command."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (name, low, high, names usable instead of numbers)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun",
                      "jul", "aug", "sep", "oct", "nov", "dec")),
    # 0 and 7 are both Sunday, as in Vixie cron.
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)

# Macros cron itself understands; @reboot is left out because a cron job's
# container has no "boot" that means anything.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_RANGE = re.compile(r"(?P<start>[a-z0-9]+)(?:-(?P<end>[a-z0-9]+))?(?:/(?P<step>[0-9]+))?")


# More digits than any field needs; int() of thousands of digits is refused by
# Python (and slow before that).
MAX_DIGITS = 4


class CronSyntaxError(ValueError):
    pass


def _int(text: str, field: str, what: str) -> int:
    if len(text.lstrip("0")) > MAX_DIGITS:
        shown = text if len(text) <= 12 else f"{text[:8]}... ({len(text)} digits)"
        raise CronSyntaxError(f"{field} field: the {what} {shown} is far too large")
    return int(text.lstrip("0") or "0")


@dataclass(frozen=True)
class CronLine:
    schedule: str  # the five fields, macros expanded
    command: str


def _value(text: str, low: int, high: int, names: tuple[str, ...], field: str) -> int:
    if text in names:
        return names.index(text) + (1 if low == 1 else 0)
    if not (text.isascii() and text.isdigit()):
        raise CronSyntaxError(f"{field} field: {text!r} is not a number")
    number = _int(text, field, "value")
    if not low <= number <= high:
        raise CronSyntaxError(f"{field} field: {number} is outside {low}-{high}")
    return number


def _check_field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for part in text.lower().split(","):
        if part.startswith("*"):
            rest = part[1:]
            if rest and not re.fullmatch(r"/[0-9]+", rest):
                raise CronSyntaxError(f"{field} field: {part!r} is not '*' or '*/N'")
            if rest and _int(rest[1:], field, "step") == 0:
                raise CronSyntaxError(f"{field} field: a step of 0 never fires")
            continue
        match = _RANGE.fullmatch(part)
        if not match:
            raise CronSyntaxError(f"{field} field: {part!r} is not a value, range or step")
        start = _value(match["start"], low, high, names, field)
        if match["end"] is not None:
            end = _value(match["end"], low, high, names, field)
            if end < start:
                raise CronSyntaxError(f"{field} field: range {part!r} runs backwards")
        if match["step"] is not None and _int(match["step"], field, "step") == 0:
            raise CronSyntaxError(f"{field} field: a step of 0 never fires")


def parse(line: str) -> CronLine:
    """Split a crontab line into schedule and command, or raise CronSyntaxError."""
    words = line.split()
    if not words:
        raise CronSyntaxError("the line is empty")
    if words[0].startswith("@"):
        if words[0] not in MACROS:
            known = ", ".join(sorted(MACROS))
            raise CronSyntaxError(f"unknown macro {words[0]!r} (known: {known})")
        schedule, command_words = MACROS[words[0]], words[1:]
    else:
        if len(words) < 6:
            raise CronSyntaxError(
                f"found {len(words)} word(s); a cron line needs five schedule fields "
                "and a command"
            )
        for text, (field, low, high, names) in zip(words[:5], _FIELDS, strict=True):
            _check_field(text, field, low, high, names)
        schedule, command_words = " ".join(words[:5]), words[5:]
    if not command_words:
        raise CronSyntaxError("the schedule is not followed by a command")
    # Keep the command as written (spacing inside it may matter to the shell).
    command = line.strip().split(None, 1 if words[0].startswith("@") else 5)[-1]
    return CronLine(schedule=schedule, command=command)
