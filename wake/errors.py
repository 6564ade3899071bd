"""The one exception root and the one error path.

A WakeError's str() is the message a user reads; its `exit_code` is what `wake` and
`doit` exit with. Anything else that escapes is a bug: crash.report_unexpected writes its
traceback to $WAKE_HOME/logs/ and returns the one line to print instead.

Exit codes (the same through `wake ...` and `doit ...`):
    0    ok
    1    failure (a build, an engine or Consul, a cluster operation; or a bug)
    2    bad input (a manifest, a flag, a state or config file), found before any work
    3    doit's own command-line errors (an unknown task or option), as doit documents
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OK, FAILURE, BAD_INPUT, DOIT_USAGE, INTERRUPTED = 0, 1, 2, 3, 130

# Characters a terminal would act on or hide (controls, lone surrogates that cannot
# even be encoded, line separators, bidi overrides): error messages show them escaped.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u200e\u200f\u202a-\u202e"
    "\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with unprintable characters written as escapes (\\n, \\x1b, \\ud800)."""
    return _UNPRINTABLE.sub(
        lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


# What programs write to colour or move the cursor: CSI (`ESC [ ... m`), OSC (`ESC ] ...
# BEL`, window titles and links) and the two-character ones (`ESC ( B`, `ESC 7`).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")


def plain(text: str) -> str:
    """Foreign output (a build's, a container's logs) as wake prints it: without escape
    sequences, tabs expanded, any other unprintable character escaped. The tools in a
    build may colour their output; wake's output has no colour, on a terminal or not."""
    return printable(_ESCAPE_SEQUENCE.sub("", text).expandtabs())


class WakeError(Exception):
    """Something the user can fix; the CLI prints it and exits non-zero."""

    exit_code = FAILURE


class UsageError(WakeError):
    """Bad input (a manifest, a flag, a config file): exit 2."""

    exit_code = BAD_INPUT


class FileError(UsageError):
    """A file (or folder) wake cannot read or write as it is: `path: reason`. Exit 2 when
    the path is the user's to fix (missing, a folder, unreadable, read-only), 1 when the
    machine failed (EIO, a full disk)."""

    def __init__(self, path: object, reason: str, exit_code: int = 2) -> None:
        self.path = str(path)
        self.reason = reason
        self.exit_code = exit_code
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, at a JSON path like `processes.web.cpu`."""

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = printable(self.path) or "(top level)"
        text = f"{where}: {printable(self.message)}"
        return f"{text}\n      fix: {printable(self.fix)}" if self.fix else text


class ManifestError(UsageError):
    """Every problem found in one manifest file, reported together."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        lines = [f"{printable(source)}: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


class DockerError(WakeError):
    """The Docker engine refused or failed; the message says which call and why."""


class BuildError(WakeError):
    """A stage's build failed; the message names the stage and shows the failing step."""

