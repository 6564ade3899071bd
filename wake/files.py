"""Reading the files wake is given or keeps, totally: any path either yields its bytes or
raises a WakeError that names the file and says what to do - never a traceback, never a
hang (a FIFO or /dev/zero is refused before it is read), never a huge read.

Exit codes: a path that is wrong (missing, a folder, a FIFO, unreadable, too big, inside
a file, read-only) is the user's to fix: exit 2. A machine that fails (EIO, a full disk):
exit 1.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import FileError, UsageError

MAX_BYTES = 64 << 20  # no input wake reads is near this; /dev/zero-like files stop here
BOM = b"\xef\xbb\xbf"
# errno values that mean "this path is not usable as given" (exit 2), not "the machine failed"
PATH_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                         errno.EISDIR, errno.EEXIST, errno.ELOOP, errno.ENAMETOOLONG,
                         errno.ENXIO})


def home_not_a_folder(home: Path | str) -> str:
    return (f"WAKE_HOME={home} is not a folder; point WAKE_HOME at a folder (or at a path that "
            "does not exist yet: wake makes it)")


def kind(mode: int) -> str:
    """What a non-regular file is, for a message."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def os_error(path: Path | str, exc: OSError, doing: str = "cannot read it") -> FileError:
    """A FileError naming `path` for an OSError met while `doing` something with it."""
    reason = exc.strerror or str(exc)
    home = os.environ.get("WAKE_HOME")
    hint = ""
    if home and os.path.lexists(home) and not os.path.isdir(home) \
            and str(path).startswith(home.rstrip("/") + "/"):
        hint = f"; {home_not_a_folder(home)}"
    elif exc.errno in (errno.EROFS, errno.EPERM, errno.EACCES):
        hint = "; check its permissions" + ("" if doing == "cannot read it" else
                                            " and that its file system is writable")
    return FileError(path, f"{doing}: {reason}{hint}", 2 if exc.errno in PATH_ERRORS else 1)


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The content of the regular file at `path`, or a FileError naming it."""
    found = read_if_present(path, limit)
    if found is None:
        raise FileError(path, "no such file")
    return found


def read_if_present(path: Path, limit: int = MAX_BYTES) -> bytes | None:
    """Like read_bytes, but None where nothing is at `path` (a state file not made yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error(path, exc) from None
    except ValueError:  # a NUL in the path
        raise FileError(repr(str(path)), "a path cannot hold a NUL character") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(path, f"is {kind(st.st_mode)}, not a regular file")
    try:
        # O_NONBLOCK: if a FIFO replaced the file since stat(), open() must not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileError(path, "changed into something that is not a file; try again")
        chunks = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise FileError(path, f"is over {limit >> 20} MiB; is it the right file?")
        return b"".join(chunks)
    except OSError as exc:
        raise os_error(path, exc) from None
    finally:
        os.close(fd)


def decode(path: Path, raw: bytes) -> str:
    """UTF-8 text. A byte order mark is refused, as manifest.json refuses it: JSON and TOML
    have none, and wake would drop it when it rewrites the file."""
    if raw.startswith(BOM):
        raise FileError(path, "starts with a UTF-8 byte order mark (BOM); save it as UTF-8 "
                        "without one")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileError(path, f"not UTF-8 text (bad byte at line {line}); save it as "
                        "UTF-8") from None


def read_text(path: Path) -> str:
    return decode(path, read_bytes(path))


def parse_json(path: Path, text: str, fix: str) -> Any:
    """json.loads, with every failure (bad syntax, absurd nesting, numbers of thousands of
    digits) a UsageError naming `path`, followed by `fix`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except RecursionError:
        why = "JSON nested too deeply to read"
    except ValueError:
        why = "a number too long to read"
    raise UsageError(f"{path} is corrupt ({why}); {fix}")
