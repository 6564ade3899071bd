"""Unit and property tests for wake.cron.parse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wake import cron
from wake.cron import MACROS, CronLine, CronSyntaxError

# (low, high, names) per field, as crontab(5) defines them.
FIELDS = [
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("jan", "feb", "mar", "apr", "may", "jun",
             "jul", "aug", "sep", "oct", "nov", "dec")),
    (0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
]


# -- examples -------------------------------------------------------------------

@pytest.mark.parametrize("line, schedule, command", [
    ("*/10 * * * * cmd", "*/10 * * * *", "cmd"),
    ("0 0 1 jan mon cmd", "0 0 1 jan mon", "cmd"),
    ("0 0 1 JAN Mon cmd", "0 0 1 JAN Mon", "cmd"),  # names are case-insensitive, kept as written
    ("1-5,10 */2 * * 1-5 cmd", "1-5,10 */2 * * 1-5", "cmd"),
    ("0,15,30,45 * * * * cmd", "0,15,30,45 * * * *", "cmd"),
    ("0 9-17/2 * jan-jun,dec sun-sat cmd", "0 9-17/2 * jan-jun,dec sun-sat", "cmd"),
    ("0 0 * * 0 cmd", "0 0 * * 0", "cmd"),
    ("0 0 * * 7 cmd", "0 0 * * 7", "cmd"),  # 7 is Sunday too
    ("59 23 31 12 6 cmd", "59 23 31 12 6", "cmd"),
    ("0-59/59 * * * * cmd", "0-59/59 * * * *", "cmd"),
    ("5-5 * * * * cmd", "5-5 * * * *", "cmd"),  # one-value range is not backwards
    ("*,5 * * * * cmd", "*,5 * * * *", "cmd"),
    ("* * * 2-feb * cmd", "* * * 2-feb *", "cmd"),  # names and numbers mix in a range
    ("* * * jan-1 * cmd", "* * * jan-1 *", "cmd"),
    ("* * * * 6-sat cmd", "* * * * 6-sat", "cmd"),
])
def test_valid_lines(line: str, schedule: str, command: str) -> None:
    assert cron.parse(line) == CronLine(schedule=schedule, command=command)


@pytest.mark.parametrize("macro", sorted(MACROS))
def test_macros_are_expanded(macro: str) -> None:
    assert cron.parse(f"{macro} bin/task --x") == CronLine(MACROS[macro], "bin/task --x")


def test_macro_values() -> None:
    assert MACROS["@daily"] == MACROS["@midnight"] == "0 0 * * *"
    assert MACROS["@yearly"] == MACROS["@annually"] == "0 0 1 1 *"
    assert MACROS["@hourly"] == "0 * * * *"
    assert MACROS["@weekly"] == "0 0 * * 0"
    assert MACROS["@monthly"] == "0 0 1 * *"
    assert "@reboot" not in MACROS
    for schedule in MACROS.values():  # every expansion is itself a valid schedule
        assert cron.parse(f"{schedule} x").schedule == schedule


@pytest.mark.parametrize("line, command", [
    ("*/5 * * * * bin/x  --flag   'a  b'", "bin/x  --flag   'a  b'"),
    ("*/5\t*  *\t* *   bin/x\t-y", "bin/x\t-y"),
    ("  0 0 * * *  echo   hi  ", "echo   hi"),
    ("@daily   echo  a   b ", "echo  a   b"),
    ("  @hourly\tcd /x &&  make", "cd /x &&  make"),
    ("* * * * * 5 4 3 2 1", "5 4 3 2 1"),  # words after the fifth field are the command
    ("* * * * * @daily", "@daily"),
])
def test_command_spacing_is_preserved(line: str, command: str) -> None:
    assert cron.parse(line).command == command


def test_schedule_whitespace_is_normalised() -> None:
    assert cron.parse("*/5\t*  *\t* *   x").schedule == "*/5 * * * *"


@pytest.mark.parametrize("line, words", [
    ("", ["empty"]),
    ("   \t ", ["empty"]),
    ("* * * * cmd", ["found 5 word(s)", "five schedule fields"]),
    ("* * * * *", ["five schedule fields and a command"]),
    ("@daily", ["not followed by a command"]),
    ("@daily   ", ["not followed by a command"]),
    ("60 * * * * cmd", ["minute field", "60 is outside 0-59"]),
    ("* 24 * * * cmd", ["hour field", "24 is outside 0-23"]),
    ("* * 0 * * cmd", ["day of month field", "0 is outside 1-31"]),
    ("* * 32 * * cmd", ["day of month field", "32"]),
    ("* * * 13 * cmd", ["month field", "13 is outside 1-12"]),
    ("* * * 0 * cmd", ["month field", "0 is outside 1-12"]),
    ("* * * * 8 cmd", ["day of week field", "8 is outside 0-7"]),
    ("*/0 * * * * cmd", ["minute field", "step of 0"]),
    ("* */0 * * * cmd", ["hour field", "step of 0"]),
    ("1-5/0 * * * * cmd", ["step of 0"]),
    ("5-1 * * * * cmd", ["range '5-1' runs backwards"]),
    ("* * * * fri-mon cmd", ["day of week field", "backwards"]),
    ("* 3-2 * * * cmd", ["hour field", "backwards"]),  # just one below
    ("* * * 3-feb * cmd", ["month field", "backwards"]),  # feb is 2
    ("* * * * mon-0 cmd", ["day of week field", "backwards"]),  # mon is 1
    ("abc * * * * cmd", ["'abc' is not a number"]),
    ("1;2 * * * * cmd", ["'1;2' is not a value, range or step"]),
    ("1,,2 * * * * cmd", ["not a value, range or step"]),
    ("1-2-3 * * * * cmd", ["not a value, range or step"]),
    ("1/2/3 * * * * cmd", ["not a value, range or step"]),
    ("*/ * * * * cmd", ["not '*' or '*/n'"]),
    ("*/x * * * * cmd", ["not '*' or '*/n'"]),
    ("*5 * * * * cmd", ["not '*' or '*/n'"]),
    ("? * * * * cmd", ["not a value"]),
    ("L * * * * cmd", ["not a number"]),
    ("* * * * 1#2 cmd", ["not a value"]),
    ("@reboot cmd", ["unknown macro '@reboot'", "@daily"]),
    ("@DAILY cmd", ["unknown macro"]),
    ("@ cmd", ["unknown macro"]),
])
def test_invalid_lines(line: str, words: list[str]) -> None:
    with pytest.raises(CronSyntaxError) as info:
        cron.parse(line)
    for word in words:
        assert word.lower() in str(info.value).lower(), (word, str(info.value))


def test_cron_syntax_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        cron.parse("nope")


@pytest.mark.parametrize("index", range(5))
def test_each_field_rejects_just_outside_its_range(index: int) -> None:
    low, high, _ = FIELDS[index]
    for bad in (low - 1, high + 1):
        if bad < 0:
            continue  # "-1" is a syntax error, tested above
        fields = ["*"] * 5
        fields[index] = str(bad)
        with pytest.raises(CronSyntaxError, match="is outside"):
            cron.parse(" ".join(fields) + " cmd")


@pytest.mark.parametrize("index", range(5))
def test_each_field_accepts_its_bounds(index: int) -> None:
    low, high, _ = FIELDS[index]
    for good in (str(low), str(high), f"{low}-{high}", f"{low}-{high}/2"):
        fields = ["*"] * 5
        fields[index] = good
        assert cron.parse(" ".join(fields) + " cmd").schedule == " ".join(fields)


@pytest.mark.parametrize("index", [3, 4])
def test_every_name_is_accepted_in_its_field(index: int) -> None:
    for name in FIELDS[index][2]:
        fields = ["*"] * 5
        fields[index] = name
        assert cron.parse(" ".join(fields) + " x").schedule == " ".join(fields)


# -- properties -------------------------------------------------------------------

def _field(low: int, high: int, names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A valid cron field: '*', '*/N', values, ranges, stepped ranges, and lists of them."""
    def atom(number: int) -> str:
        return str(number)

    number = st.integers(low, high)
    value = number.map(atom)
    if names:
        # names map to low + index (months start at 1, weekdays at 0)
        value = value | st.sampled_from(names)
    pair = st.tuples(number, number).map(sorted)
    rng = pair.map(lambda p: f"{p[0]}-{p[1]}")
    if names:
        named_pair = st.tuples(st.integers(0, len(names) - 1),
                               st.integers(0, len(names) - 1)).map(sorted)
        rng = rng | named_pair.map(lambda p: f"{names[p[0]]}-{names[p[1]]}")
    step = st.integers(1, high + 1)
    stepped = st.tuples(st.just("*") | rng, step).map(lambda t: f"{t[0]}/{t[1]}")
    item = st.just("*") | value | rng | stepped
    return st.lists(item, min_size=1, max_size=4).map(",".join)


SCHEDULE = st.tuples(*(_field(*f) for f in FIELDS))
COMMAND = st.text(
    alphabet=st.sampled_from("abcxyz019/._-=$'\"|&;<> \t"), min_size=1, max_size=30,
).filter(lambda s: s.strip() == s)
SEPARATOR = st.sampled_from([" ", "  ", "\t", " \t "])


@given(fields=SCHEDULE, command=COMMAND, sep=SEPARATOR)
def test_valid_lines_parse_and_round_trip(fields: tuple[str, ...], command: str,
                                          sep: str) -> None:
    schedule = " ".join(fields)
    parsed = cron.parse(sep.join(fields) + sep + command)
    assert parsed == CronLine(schedule=schedule, command=command)
    # and parsing the canonical form gives the same again
    assert cron.parse(f"{parsed.schedule} {parsed.command}") == parsed


@given(macro=st.sampled_from(sorted(MACROS)), command=COMMAND)
def test_macro_lines_round_trip(macro: str, command: str) -> None:
    parsed = cron.parse(f"{macro} {command}")
    assert parsed == CronLine(schedule=MACROS[macro], command=command)


@given(
    minute=st.integers(60, 10**9),
    form=st.sampled_from(["{m}", "0-{m}", "{m}-{m}", "1,{m}", "{m}/5", "0-{m}/2", "{m},*"]),
    rest=st.tuples(*(_field(*f) for f in FIELDS[1:])),
)
def test_any_minute_above_59_is_rejected(minute: int, form: str,
                                         rest: tuple[str, ...]) -> None:
    line = " ".join([form.format(m=minute), *rest, "cmd"])
    with pytest.raises(CronSyntaxError, match="minute field"):
        cron.parse(line)


@given(line=st.text(max_size=60))
def test_parse_never_raises_anything_but_cron_syntax_error(line: str) -> None:
    try:
        parsed = cron.parse(line)
    except CronSyntaxError:
        return
    assert len(parsed.schedule.split()) == 5
    assert parsed.command and parsed.command == parsed.command.strip()


# -- regressions: bugs found while writing these tests ----------------------------

@pytest.mark.parametrize("line", ["*/\u0661 * * * * cmd", "1-5/\u0663 * * * * cmd"])
def test_bug_non_ascii_digit_steps_are_rejected(line: str) -> None:
    try:
        cron.parse(line)
    except CronSyntaxError:
        return
    raise AssertionError(f"{line!r} was accepted")
