"""Progress of long build steps (wake.build.progress) and wake's output without escape
sequences: off a terminal, in the build's lines, its errors and container logs."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wake import cli
from wake.build.builder import Builder
from wake.build.progress import Printer, StepProgress, is_terminal
from wake.engine import Engine
from wake.errors import BuildError, plain

COLOURED = "\x1b[32madded\x1b[0m 1200 packages \x1b]0;npm\x07in 61s"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen(written: str) -> list[str]:
    """The lines a terminal shows after `written` (`\\r` returns to the line's start)."""
    lines, column = [""], 0
    for char in written:
        if char == "\n":
            lines.append("")
            column = 0
        elif char == "\r":
            column = 0
        else:
            lines[-1] = lines[-1][:column] + char + lines[-1][column + 1:]
            column += 1
    return [line.rstrip() for line in lines if line.strip()]


def off_terminal(clock: Clock) -> tuple[StepProgress, list[str]]:
    said: list[str] = []
    return StepProgress(said.append, io.StringIO(), clock=clock), said


def on_terminal(clock: Clock, width: int = 80) -> tuple[StepProgress, Terminal]:
    term = Terminal()
    progress = StepProgress(lambda line: term.write(line + "\n"), term, clock=clock,
                            width=lambda: width)
    return progress, term


@pytest.fixture(autouse=True)
def a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")


# -- off a terminal: a line every `every` seconds ---------------------------------------

def test_a_silent_step_reports_at_the_interval_with_its_elapsed_time() -> None:
    clock = Clock()
    progress, said = off_terminal(clock)
    assert not progress.tty
    progress.feed("Step 3/5 : RUN /opt/wake/build && npm install")
    for _ in range(65):  # a minute of silence, polled each second
        clock.now += 1
        progress.poll()
    assert said == [f"  | ... still running Step 3/5 ({s} s), no output yet"
                    for s in (10, 20, 30, 40, 50, 60)]


def test_the_report_shows_the_steps_last_output_line() -> None:
    clock = Clock()
    progress, said = off_terminal(clock)
    progress.feed("Step 3/5 : RUN npm install")
    progress.feed("npm warn deprecated inflight@1.0.6")
    progress.feed(COLOURED)
    progress.feed("   ")  # a blank line is not news
    clock.now += 12
    progress.poll()
    assert said == ["  | ... still running Step 3/5 (12 s): added 1200 packages in 61s"]


def test_reports_stop_when_the_step_ends() -> None:
    clock = Clock()
    progress, said = off_terminal(clock)
    progress.feed("Step 3/5 : RUN npm install")
    progress.feed("added 1200 packages")
    clock.now += 10
    progress.poll()
    progress.feed("Step 4/5 : COPY . /app")  # a quick step: nothing to report
    clock.now += 3
    progress.poll()
    assert said == ["  | ... still running Step 3/5 (10 s): added 1200 packages"]
    clock.now += 7  # Step 4 runs long after all: its own clock, not the last line of 3
    progress.poll()
    assert said[1:] == ["  | ... still running Step 4/5 (10 s), no output yet"]


def test_a_quiet_start_is_reported_as_the_build() -> None:
    clock = Clock()
    progress, said = off_terminal(clock)
    clock.now += 10  # sending a large context: no Step line yet
    progress.poll()
    assert said == ["  | ... still running the build (10 s), no output yet"]


def test_the_thread_reports_silence_and_stops_with_the_build() -> None:
    said: list[str] = []
    with StepProgress(said.append, after=0, every=0.002, tick=0.001) as progress:
        progress.feed("Step 1/2 : RUN sleep 60")
        deadline = time.monotonic() + 5
        while len(said) < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
    assert len(said) >= 3 and all("still running Step 1/2" in line for line in said)
    assert not any(t.name == "wake-progress" for t in threading.enumerate())
    count = len(said)
    time.sleep(0.01)
    assert len(said) == count


def test_a_failing_build_stops_the_thread() -> None:
    with pytest.raises(BuildError), StepProgress(print, tick=0.001):
        raise BuildError("build of x failed")
    assert not any(t.name == "wake-progress" for t in threading.enumerate())


# -- on a terminal: one line, redrawn in place, erased at the end ------------------------

def test_on_a_terminal_the_status_line_is_redrawn_in_place_and_erased() -> None:
    clock = Clock()
    progress, term = on_terminal(clock)
    assert progress.tty
    progress.say("  | Step 3/5 : RUN npm install")
    progress.feed("Step 3/5 : RUN npm install")
    clock.now += 4
    progress.poll()  # under `after`: nothing yet
    assert screen(term.getvalue()) == ["  | Step 3/5 : RUN npm install"]
    clock.now += 2
    progress.feed("npm warn deprecated a-much-longer-line-than-the-next@1.0.6")
    progress.poll()
    clock.now += 1
    progress.feed("added 3 packages")
    progress.poll()
    assert screen(term.getvalue()) == ["  | Step 3/5 : RUN npm install",
                                       "  | ... still running Step 3/5 (7 s): added 3 packages"]
    progress.say("  | Step 4/5 : COPY . /app")  # the next line prints over the status line
    progress.feed("Step 4/5 : COPY . /app")
    clock.now += 6
    progress.poll()
    progress.close()
    assert screen(term.getvalue()) == ["  | Step 3/5 : RUN npm install",
                                       "  | Step 4/5 : COPY . /app"]
    assert term.getvalue().endswith("\r")  # the cursor is back at the start of the line
    assert "\x1b" not in term.getvalue()  # `\r` and spaces only: no escape sequences


def test_the_status_line_fits_the_terminal() -> None:
    clock = Clock()
    progress, term = on_terminal(clock, width=50)
    progress.feed("Step 1/1 : RUN make")
    progress.feed("編譯中 " * 20)  # wide characters take two columns each
    clock.now += 6
    progress.poll()
    (shown,) = screen(term.getvalue())
    assert shown.startswith("  | ... still running Step 1/1 (6 s): 編")
    assert shown.endswith("...")
    assert sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in shown) <= 49


@pytest.mark.parametrize("term", ["dumb"])
def test_a_dumb_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch, term: str) -> None:
    monkeypatch.setenv("TERM", term)
    clock = Clock()
    said: list[str] = []
    terminal = Terminal()
    progress = StepProgress(said.append, terminal, clock=clock)
    assert not progress.tty
    clock.now += 10
    progress.poll()
    assert said and terminal.getvalue() == ""


def test_is_terminal() -> None:
    assert is_terminal(Terminal())  # type: ignore[arg-type]
    assert not is_terminal(io.StringIO())
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed)


def test_printer_writes_where_stdout_is_at_each_call(capsys: pytest.CaptureFixture[str]) -> None:
    say = Printer()
    elsewhere = io.StringIO()
    with contextlib.redirect_stdout(elsewhere):
        say("one")
        assert say.stream is elsewhere
    say("two")
    assert elsewhere.getvalue() == "one\n"
    assert capsys.readouterr().out == "two\n"
    Printer(stderr=True)("three")
    assert capsys.readouterr().err == "three\n"


# -- no escape sequences in what wake prints --------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[1;31mERR!\x1b[0m code E404", "ERR! code E404"),
    ("\x1b]0;title\x07done", "done"),
    ("\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x1b(Bplain\x1b7", "plain"),
    ("a\tb", "a       b"),
    ("a lone \x1b", "a lone \\x1b"),
    ("\x9b31mred", "\\x9b31mred"),  # the one-byte CSI: shown, not obeyed
    ("über ☃", "über ☃"),
])
def test_plain(text: str, shown: str) -> None:
    assert plain(text) == shown


class FakeApi:
    """The docker SDK's low-level build: a stream of decoded chunks."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks
        self.nocache: bool | None = None

    def build(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.nocache = kwargs["nocache"]
        return self.chunks


def engine_with(chunks: list[dict[str, Any]], logs: bytes = b"") -> Engine:
    container = SimpleNamespace(logs=lambda tail: logs)
    client = SimpleNamespace(api=FakeApi(chunks),
                             containers=SimpleNamespace(get=lambda name: container))
    return Engine(client, "fake")


BUILD_OUTPUT = [
    {"stream": "Step 1/3 : FROM wake/base\n"},
    {"stream": " ---> 1234\n"},
    {"stream": "Step 2/3 : RUN npm install\n"},
    {"stream": f"{COLOURED}\n\x1b[33mnpm warn\x1b[39m old lockfile\n"},
    {"stream": 'Step 3/3 : LABEL wake.key="k"\n'},
]


def builder_over(engine: Engine, **options: Any) -> tuple[Builder, Any]:
    materializer = SimpleNamespace(client=engine, settings=SimpleNamespace(registry=None))
    mat = SimpleNamespace(stage=SimpleNamespace(id="build:shop:app-compile"), tag="wake/x:k",
                          write_context=lambda file: file.write(b"tar"), own_step=None)
    return Builder(materializer, **options), mat  # type: ignore[arg-type]


@pytest.mark.parametrize("verbose", [False, True])
def test_a_build_prints_no_escape_sequences_off_a_terminal(
        capsys: pytest.CaptureFixture[str], verbose: bool) -> None:
    engine = engine_with([*BUILD_OUTPUT, {"aux": {"ID": "sha256:1"}}])
    builder, mat = builder_over(engine, verbose=verbose)
    assert isinstance(builder.say, Printer)
    builder._build(mat)
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "  | Step 2/3 : RUN npm install" in out
    assert ("LABEL" in out) is verbose  # wake's own bookkeeping: only when verbose
    assert ("  | added 1200 packages in 61s" in out) is verbose
    assert not any(t.name == "wake-progress" for t in threading.enumerate())


def test_a_failed_build_says_its_output_without_escape_sequences() -> None:
    engine = engine_with([*BUILD_OUTPUT[:4], {"error": "\x1b[31mnpm ERR!\x1b[0m exit 1\n"}])
    builder, mat = builder_over(engine, say=lambda line: None)
    with pytest.raises(BuildError) as failed:
        builder._build(mat)
    assert "\x1b" not in str(failed.value)
    assert "    added 1200 packages in 61s\n    npm warn old lockfile" in str(failed.value)


def test_container_logs_come_without_escape_sequences() -> None:
    engine = engine_with([], logs=b"\x1b[36mStarted GET\x1b[0m /\n\x1b[32m200 OK\x1b[0m\n")
    assert engine.logs("shop-web-1") == "Started GET /\n200 OK"


# -- WAKE_VERBOSE, WAKE_NO_CACHE and their flags ----------------------------------------

@pytest.mark.parametrize(("value", "on"), [("1", True), ("yes", True), ("0", False),
                                           ("", False), (None, False)])
def test_the_environment_variables(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                   on: bool) -> None:
    for name in ("WAKE_VERBOSE", "WAKE_NO_CACHE"):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    builder, _ = builder_over(engine_with([]))
    assert (builder.verbose, builder.nocache) == (on, on)
    builder, _ = builder_over(engine_with([]), verbose=not on, nocache=not on)
    assert (builder.verbose, builder.nocache) == (not on, not on)


def test_no_cache_reaches_the_engine() -> None:
    engine = engine_with([{"aux": {"ID": "sha256:1"}}])
    builder, mat = builder_over(engine, say=lambda line: None, nocache=True)
    builder._build(mat)
    assert engine._client.api.nocache is True


@pytest.mark.parametrize(("argv", "verbose", "nocache"), [
    ([], None, None),
    (["--verbose", "--no-cache"], True, True),
    (["-v"], True, None),
])
def test_build_flags_reach_the_builder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       argv: list[str], verbose: bool | None,
                                       nocache: bool | None) -> None:
    import wake.run

    seen: list[Any] = []
    monkeypatch.setattr(wake.run, "run_doit",
                        lambda doit_args, apps, overrides, session: seen.append(session) or 0)
    assert cli.main(["build", *argv]) == 0
    (session,) = seen
    assert (session.verbose, session.nocache) == (verbose, nocache)
    session.materializer = SimpleNamespace()  # a cached_property: no engine, no workspace
    assert (session.builder.verbose, session.builder.nocache) == (bool(verbose), bool(nocache))
