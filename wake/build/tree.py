"""An app's files as a build sees them: walked honouring .gitignore, .dockerignore and
.wakeignore, hashed by content, with a stat-keyed cache so a second look costs a stat per file.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import sqlite3
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FileError
from ..files import os_error
from ..settings import wake_home

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

# Read in every folder, git's rules; in one folder the later file wins (.wakeignore last).
IGNORE_FILES = (".gitignore", ".wakeignore")
# Read at the app's root only, as Docker reads it: between the two (see _docker_patterns).
DOCKERIGNORE = ".dockerignore"
# Never part of a build: VCS metadata and doit's local state.
ALWAYS_IGNORED = frozenset({".git", ".hg", ".svn", ".doit.db", ".doit.db.db", ".doit.db.dat",
                            ".doit.db.dir", ".doit.db.bak"})
# Left out at any depth unless an ignore file says otherwise (`!node_modules/`): installed
# dependencies and caches the compile stage makes again, often most of a tree's files.
DEFAULT_IGNORED = frozenset({"node_modules", "__pycache__", ".venv"})
# A file changed within this many seconds of being hashed may change again in
# the same mtime tick ("racy git"): hash it, but do not cache the result.
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class TreeFile:
    path: str  # relative, with '/' separators
    absolute: str
    digest: str  # sha256 of content, plus ":x" when executable
    executable: bool


def _docker_patterns(lines: list[str]) -> list[str]:
    """.dockerignore lines as gitignore patterns. Docker matches every pattern against the
    whole path from the context root: `*.log` is only the top folder's logs (`**/*.log`
    is every depth), `/foo`, `foo` and `foo/` are all the top-level `foo`, file or folder."""
    patterns = []
    for line in lines:
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = posixpath.normpath(pattern.removeprefix("!").strip()).lstrip("/")
        if pattern in ("", "."):
            continue
        patterns.append(("!" if negate else "") + "/" + pattern)
    return patterns


def _specs_for(directory: str, rel: str) -> list[tuple[str, GitIgnoreSpec]]:
    specs: list[tuple[str, GitIgnoreSpec]] = []
    names = IGNORE_FILES if rel else (IGNORE_FILES[0], DOCKERIGNORE, *IGNORE_FILES[1:])
    for name in names:
        file = os.path.join(directory, name)
        if os.path.isfile(file):
            from pathspec import GitIgnoreSpec  # only needed where ignore files exist

            with open(file, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
            if name == DOCKERIGNORE:
                lines = _docker_patterns(lines)
            specs.append((rel, GitIgnoreSpec.from_lines(lines)))
    return specs


def _ignored(rel_path: str, is_dir: bool, specs: list[tuple[str, GitIgnoreSpec]]) -> bool:
    """Git's rule: the deepest ignore file with a matching pattern decides; when none
    matches, DEFAULT_IGNORED does."""
    for base, spec in reversed(specs):
        local = rel_path[len(base) + 1:] if base else rel_path
        result = spec.check_file(local + ("/" if is_dir else ""))
        if result.include is not None:
            return bool(result.include)
    return rel_path.rpartition("/")[2] in DEFAULT_IGNORED


def walk(root: Path, exclude: frozenset[str] = frozenset()
         ) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, absolute path, stat) of every regular file under root that a
    build copies. `exclude` names top-level files to leave out (e.g. manifest.json).
    Symlinks are followed only when they point inside root.

    Plain strings, not Path objects: on a 10,000-file tree, pathlib's object
    churn costs more than the stat calls themselves.
    """
    top = str(root.resolve())
    top_stat = os.stat(top)
    # Each folder carries its ancestors' (device, inode): a symlink back to one of
    # them would otherwise loop until the kernel's ELOOP.
    Ids = frozenset[tuple[int, int]]
    stack: list[tuple[str, str, list[tuple[str, GitIgnoreSpec]], Ids]] = [
        (top, "", _specs_for(top, ""), frozenset({(top_stat.st_dev, top_stat.st_ino)}))]
    inside = top + os.sep
    while stack:
        directory, rel_dir, specs, ancestors = stack.pop()
        try:
            entries = list(os.scandir(directory))  # hash_tree sorts the result once
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name in ALWAYS_IGNORED or (not rel_dir and name in exclude):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                st = entry.stat()
            except OSError:
                continue  # dangling symlink
            if entry.is_symlink() and not os.path.realpath(entry.path).startswith(inside):
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            ignored = _ignored(rel, is_dir, specs) if specs else name in DEFAULT_IGNORED
            if ignored:
                continue
            if is_dir:
                if (st.st_dev, st.st_ino) in ancestors:
                    continue
                stack.append((entry.path, rel, specs + _specs_for(entry.path, rel),
                              ancestors | {(st.st_dev, st.st_ino)}))
            elif stat.S_ISREG(st.st_mode):
                yield rel, entry.path, st


def _sha256_file(path: str) -> str:
    with open(path, "rb") as handle:
        if sys.version_info >= (3, 11):
            # file_digest reuses one buffer; read(1 MiB) would allocate one per file.
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()  # pragma: no cover - Python 3.10
        while chunk := handle.read(1 << 16):
            digest.update(chunk)
        return digest.hexdigest()


class HashCache:
    """sha256 of files keyed by (path, size, mtime_ns, inode, ctime_ns) in sqlite.

    The cache only saves reads; keys are always functions of content.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or wake_home() / "cache" / "filehash.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # A cache: losing the last writes to a power cut only costs re-reading files.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, "
                            "size INT, mtime INT, inode INT, ctime INT, digest TEXT)")
        except OSError as exc:
            raise os_error(self.path.parent, exc, "cannot make it") from None
        except sqlite3.Error as exc:
            raise FileError(self.path, f"cannot use the file hash cache: {exc}; it is only "
                            "a cache: check that WAKE_HOME is writable, or delete the file"
                            ) from None
        self.pending: list[tuple[str, int, int, int, int, str]] = []
        self.hits = 0
        self.misses = 0
        self.rows: dict[str, tuple[Any, ...]] = {}
        self._primed: set[str] = set()

    def prime(self, top: str) -> None:
        """Load the cached rows under `top` with one query (not one per file, and not
        the rows of every other tree this machine ever hashed)."""
        if top not in self._primed:
            self._primed.add(top)
            prefix = top.rstrip(os.sep) + os.sep
            # Paths under prefix sort between prefix and prefix with its last char bumped.
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            for row in self.db.execute("SELECT * FROM files WHERE path >= ? AND path < ?",
                                       (prefix, upper)):
                self.rows[row[0]] = row[1:]

    def digest(self, path: str, st: os.stat_result) -> str:
        row = self.rows.get(path)
        if row and tuple(row[:4]) == (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns):
            self.hits += 1
            return str(row[4])
        self.misses += 1
        digest = _sha256_file(path)
        if time.time() - st.st_mtime > RACY_SECONDS:
            self.pending.append((path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns,
                                 digest))
        return digest

    def flush(self) -> None:
        if self.pending:
            # One transaction: in autocommit mode every row would be its own commit.
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)",
                                self.pending)
            self.db.execute("COMMIT")
            for key, *row in self.pending:
                self.rows[key] = tuple(row)
            self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.db.close()


def hash_tree(root: Path, cache: HashCache | None = None,
              exclude: frozenset[str] = frozenset()) -> list[TreeFile]:
    """Every file a build of `root` copies, sorted by path, with its content digest."""
    files = []
    owned = cache is None
    cache = cache or HashCache()
    try:
        cache.prime(str(root.resolve()))
        for rel, absolute, st in walk(root, exclude):
            executable = bool(st.st_mode & 0o111)
            digest = cache.digest(absolute, st)
            files.append(TreeFile(rel, absolute, digest + ":x" if executable else digest,
                                  executable))
        cache.flush()
    finally:
        if owned:
            cache.close()
    files.sort(key=lambda f: f.path)
    return files
