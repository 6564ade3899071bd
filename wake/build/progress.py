"""Liveness of long build steps: a step that runs for a while says so, even when it prints
nothing (an `npm install` can be quiet for a minute).

On a terminal, one status line is redrawn in place: the step, its seconds, its last output
line. It is drawn with a carriage return and spaces only, never an escape sequence, so it
adds no colour (NO_COLOR holds as is) and no cursor codes. Elsewhere (a CI log, a pipe) a
plain line is printed every `every` seconds instead.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from ..errors import plain

_STEP = re.compile(r"^(Step \d+/\d+) : ")


@dataclass(frozen=True)
class Printer:
    """A `say` that prints to stdout (or stderr) as it is at each call: doit swaps
    sys.stdout while a task runs, and `wake deploy --json` redirects it to stderr. Its
    `stream` is where a builder's status line goes, so both end up in the same place."""

    stderr: bool = False

    @property
    def stream(self) -> TextIO:
        return sys.stderr if self.stderr else sys.stdout

    def __call__(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def is_terminal(stream: TextIO) -> bool:
    """Whether a status line redrawn with `\\r` works on `stream`: a terminal, and not a
    dumb one (Emacs' shell and some CI consoles print `\\r` rather than obey it)."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


class StepProgress:
    """Watches a build's output lines and reports the current step while it runs long.

    A thread drives the reports, not the lines: silence is the case that matters. Use it
    as a context manager; leaving stops the thread and erases the status line, so what
    comes next prints normally. `clock`, `after`, `every`, `tick` and `width` are there
    for tests.
    """

    def __init__(self, say: Callable[[str], None], stream: TextIO | None = None, *,
                 after: float = 5.0, every: float = 10.0, tick: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 width: Callable[[], int] | None = None) -> None:
        self._say = say
        self._stream = stream if stream is not None and is_terminal(stream) else None
        self._width = width or (lambda: terminal_width(stream) if stream else 80)
        self.after, self.every, self.tick = after, every, tick
        self._clock = clock
        self._lock = threading.Lock()  # the thread and the build's lines share the output
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step = "the build"  # until the first Step line (the context is being sent)
        self._started = self._reported = clock()
        self._last = ""
        self._shown = 0  # columns of the status line on screen; 0: none
        self._drawn = ""

    @property
    def tty(self) -> bool:
        return self._stream is not None

    def __enter__(self) -> StepProgress:
        self._thread = threading.Thread(target=self._run, name="wake-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._erase()

    def feed(self, line: str) -> None:
        """One line of build output: a `Step n/m : ...` line starts a step."""
        with self._lock:
            step = _STEP.match(line)
            if step:
                self._erase()  # the old step's line would linger over a LABEL step
                self._step, self._last = step.group(1), ""
                self._started = self._reported = self._clock()
            elif line.strip():
                self._last = plain(line.strip())

    def say(self, line: str) -> None:
        """Print a line for good, above the status line."""
        with self._lock:
            self._erase()
            self._say(line)

    def poll(self) -> None:
        """Report if it is time to (the thread calls this every `tick` seconds)."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._started
            if elapsed < self.after:
                return
            text = f"  | ... still running {self._step} ({int(elapsed)} s)"
            text += f": {self._last}" if self._last else ", no output yet"
            if self._stream is not None:
                self._draw(self._stream, text)
            elif now - self._reported >= self.every:
                self._reported = now
                self._say(text)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.poll()
            except (OSError, ValueError):  # the output is gone (a closed pipe): go quiet
                return

    def _draw(self, stream: TextIO, text: str) -> None:
        # One column short of the width: writing the last column wraps on some terminals,
        # and `\r` then returns to the wrong row.
        text = _fit(text, max(self._width() - 1, 20))
        if self._shown and text == self._drawn:
            return
        columns = _columns(text)
        stream.write("\r" + text + " " * max(0, self._shown - columns))
        stream.flush()
        self._shown, self._drawn = columns, text

    def _erase(self) -> None:
        if self._stream is not None and self._shown:
            self._stream.write("\r" + " " * self._shown + "\r")
            self._stream.flush()
            self._shown = 0


def _width_of(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) == "Cf":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _columns(text: str) -> int:
    return sum(_width_of(c) for c in text)


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal columns (wide characters take two), marked `...`."""
    if _columns(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += _width_of(char)
        if used > width - 3:
            break
        kept.append(char)
    return "".join(kept) + "..."
