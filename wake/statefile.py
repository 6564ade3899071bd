"""Write a state file so readers see the old content or the new, never a mix:
a temporary file in the same folder, fsync, rename over, fsync the folder.

A folder or file that cannot be made or written (WAKE_HOME is a file, read-only, full)
is a WakeError naming it (files.os_error); the old file is then left as it was."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import FileError, UsageError
from .files import home_not_a_folder, os_error

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Make `folder` (wake's own, e.g. ~/.wake) exist with mode 0700."""
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o777 != FOLDER_MODE:
            folder.chmod(FOLDER_MODE)
    except FileExistsError:
        if os.environ.get("WAKE_HOME") == str(folder):
            raise UsageError(home_not_a_folder(folder)) from None
        raise FileError(folder, "is a file, not a folder: move it away") from None
    except OSError as exc:
        raise os_error(folder, exc, "cannot make it a private folder (mode 0700)") from None


def replace_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace `path` whole with `data`, or raise a WakeError and leave it as it was."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)  # in case a stale temporary had other bits
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise os_error(path, exc, "cannot write it") from None
    try:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise os_error(path.parent, exc, "cannot sync it") from None


def write_atomically(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    private_folder(path.parent)
    replace_file(path, data, mode)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for a read-modify-write of `path` (a sibling .lock file)."""
    private_folder(path.parent)
    lock = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise os_error(lock, exc, "cannot lock it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
