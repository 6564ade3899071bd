"""A bug's traceback goes to a log file; the user reads one line (see errors.py)."""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from pathlib import Path

from .errors import WakeError
from .settings import wake_home


def report_unexpected(exc: BaseException, doing: str) -> str:
    """Write the traceback of a bug to $WAKE_HOME/logs/ and return one line that says
    what failed and where the traceback is (never the traceback itself)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    summary = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    try:
        folder = wake_home() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"crash-{stamp}-{os.getpid()}.log"
        log.write_text(f"wake {' '.join(sys.argv[1:])}\nwhile {doing}\n\n{text}")
        where = f"the traceback is in {log}"
    except (OSError, WakeError):  # WAKE_HOME unusable: the message still gets out
        fallback = Path(os.environ.get("TMPDIR", "/tmp")) / f"wake-crash-{stamp}.log"
        try:
            fallback.write_text(text)
            where = f"the traceback is in {fallback}"
        except OSError:
            where = "the traceback could not be written anywhere"
    return (f"unexpected error while {doing}: {summary} ({where}; this is a bug in wake, "
            "please report it with that file)")
