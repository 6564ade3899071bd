"""`wake logs`' pieces: the master's line format, --since, filters, and shipping lines
(to a real TCP listener on loopback)."""

from __future__ import annotations

import datetime
import socket
import threading

import pytest

from wake.errors import UsageError
from wake.logs import read, ship

UTC = datetime.timezone.utc
HOSTS = {"10.0.0.2": "h1"}


def test_a_masters_line_parses_with_its_host_and_message_byte_for_byte() -> None:
    line = read.parse("2026-11-26T12:21:55.470599+00:00 api web web-4136e5 10.0.0.2 "
                      " two  spaces: kept", HOSTS)
    assert line is not None
    assert (line.app, line.process, line.instance, line.host) == ("api", "web", "web-4136e5",
                                                                   "h1")
    assert line.message == " two  spaces: kept"
    assert line.time == datetime.datetime(2026, 11, 26, 12, 21, 55, 470599, tzinfo=UTC)
    assert line.render() == ("2026-11-26T12:21:55.470599+00:00 web[web-4136e5@h1]:  two  "
                             "spaces: kept")
    unknown = read.parse("2026-11-26T12:21:55+00:00 api web web-1 10.9.9.9 hi", HOSTS)
    assert unknown is not None and unknown.host == "10.9.9.9"
    event = read.parse("2026-11-26T12:21:55+00:00 api deploy ann@box 10.0.0.9 event: x", {})
    assert event is not None and event.render().endswith(" deploy[ann@box]: event: x")
    assert read.parse("2026-11-26T12:21:55+00:00 api web web-1 10.0.0.2", HOSTS) is not None


@pytest.mark.parametrize("text", ["", "garbage", "not-a-time api web w 1.2.3.4 x",
                                  "2026-11-26T12:21:55+00:00 api web"])
def test_other_lines_are_skipped(text: str) -> None:
    assert read.parse(text, HOSTS) is None


def test_since_takes_durations_and_times() -> None:
    now = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert read.since("10m", now) == now - datetime.timedelta(minutes=10)
    assert read.since("2h", now) == now - datetime.timedelta(hours=2)
    assert read.since("1d", now) == now - datetime.timedelta(days=1)
    assert read.since("2026-11-26T10:00:00", now) == datetime.datetime(2026, 11, 26, 10,
                                                                       tzinfo=UTC)
    for bad in ("5x", "ten minutes", "-3m"):
        with pytest.raises(UsageError, match="give a duration"):
            read.since(bad, now)


def test_a_query_filters_by_process_instance_and_time() -> None:
    line = read.parse("2026-11-26T12:00:00+00:00 api web web-1 10.0.0.2 hi", HOSTS)
    assert line is not None
    assert read.Query("api").wants(line)
    assert read.Query("api", "web", "web-1").wants(line)
    assert not read.Query("api", "worker").wants(line)
    assert not read.Query("api", instance="web-2").wants(line)
    later = datetime.datetime(2026, 11, 26, 12, 0, 1, tzinfo=UTC)
    assert not read.Query("api", since=later).wants(line)


def test_tags_hold_no_dots_or_spaces() -> None:
    assert ship.tag("api", "deploy", "ann@my box.local") == "api.deploy.ann@my-box-local"
    assert ship.tag("api", "web", "") == "api.web.-"


def test_lines_reach_the_master_one_message_each_and_a_dead_master_costs_nothing() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                got.append(chunk)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    sender = ship.Shipper(f"127.0.0.1:{port}", "api", "deploy", "ann@box")
    said: list[str] = []
    say = sender.tee(said.append)
    say("api: deploying\n  two lines")
    say("done")
    sender.close()
    thread.join(timeout=5)
    server.close()
    data = b"".join(got).decode()
    lines = data.splitlines()
    assert said == ["api: deploying\n  two lines", "done"]
    assert len(lines) == 3 and all(x.startswith("<14>") for x in lines)
    assert all(" api.deploy.ann@box: " in x for x in lines)
    assert lines[1].endswith(":   two lines") and lines[2].endswith(": done")
    # Nobody listening: no error, no delay beyond the first refused connection.
    gone = ship.Shipper(f"127.0.0.1:{port}", "api", "deploy", "x")
    gone.send("lost")
    gone.send("lost too")
    assert gone._failed
    ship.Shipper(None, "api", "deploy", "x").send("nowhere")
