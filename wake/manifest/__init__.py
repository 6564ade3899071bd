"""The application manifest (`manifest.json`): frozen values (model.py) and strict
validation (checker.py).

`load()` reads a manifest and either returns a `Manifest` or raises a
`ManifestError` listing *every* problem with its JSON path and a fix, so a
user fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from .. import files
from ..errors import FileError, ManifestError, Problem
from .checker import _Checker, _pairs_hook, _parse_int
from .model import *  # noqa: F403 - the manifest's values and limits are its API
from .model import MANIFEST_NAME, Manifest


def find_manifest(path: Path) -> Path:
    """Accept an app folder or a manifest file; return the manifest file's path."""
    if path.is_dir():
        path = path / MANIFEST_NAME
    try:
        os.lstat(path)  # what else is not a readable file, load() says
    except (FileNotFoundError, NotADirectoryError):
        raise ManifestError(str(path), [Problem(
            "", "no such file",
            f"create {MANIFEST_NAME} in the app's folder, or pass the path to it")]) from None
    except OSError as exc:
        raise files.os_error(path, exc) from None
    except ValueError:  # a NUL in the path
        raise ManifestError(repr(str(path)), [Problem("", "a path cannot hold a NUL character")]
                            ) from None
    return path


def load(path: Path | str, known_platforms: Iterable[str] | None = None) -> Manifest:
    """Read and validate a manifest; raise ManifestError with every problem found."""
    source = find_manifest(Path(path))
    try:
        raw = files.read_bytes(source)
    except FileError as exc:
        if exc.exit_code != ManifestError.exit_code:
            raise
        raise ManifestError(str(source), [Problem("", exc.reason)]) from None
    return loads(raw, source, known_platforms)


def loads(raw: bytes, source: Path, known_platforms: Iterable[str] | None = None) -> Manifest:
    """Validate a manifest's bytes (UTF-8, a leading BOM allowed) read from `source`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError(str(source), [Problem(
            "", f"not UTF-8 text (bad byte at line {line})", "save the file as UTF-8")]
        ) from None
    return parse(text, source, known_platforms)


def parse(text: str, source: Path, known_platforms: Iterable[str] | None = None) -> Manifest:
    """Validate a manifest's text (a BOM already removed) read from `source`."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs_hook,
                          parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ManifestError(str(source), [Problem(
            "", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "fix the JSON syntax there (a missing comma or quote is the usual cause)")]
        ) from None
    except RecursionError:
        raise ManifestError(str(source), [Problem(
            "", "JSON nested too deeply to read",
            "a manifest needs at most four levels of { } and [ ]; remove the extra ones")]
        ) from None
    except ValueError as exc:  # nothing known reaches here; still the user's file
        raise ManifestError(str(source), [Problem(
            "", f"JSON the manifest cannot hold: {exc}", "simplify the file")]) from None
    checker = _Checker(set(known_platforms) if known_platforms is not None else None)
    manifest = checker.manifest(data, source)
    if checker.problems or manifest is None:
        raise ManifestError(str(source), checker.problems)
    return manifest
