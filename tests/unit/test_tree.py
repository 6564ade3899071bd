"""Unit tests for wake.tree: what a build copies, content digests and the stat-keyed cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

from wake.build import tree
from wake.build.tree import HashCache, TreeFile, hash_tree, walk


def write(root: Path, rel: str, content: bytes | str = b"x\n", mode: int | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    if mode is not None:
        path.chmod(mode)
    return path


def paths(root: Path, exclude: frozenset[str] = frozenset()) -> list[str]:
    return sorted(rel for rel, _, _ in walk(root, exclude))


def age(root: Path, seconds: float = 10.0) -> None:
    """Set every file's mtime `seconds` in the past (older than the racy window)."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def pairs(files: list[TreeFile]) -> list[tuple[str, str]]:
    return [(f.path, f.digest) for f in files]


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "filehash.sqlite"


# -- walk: ignore files ----------------------------------------------------------

def test_root_gitignore_applies_at_every_depth(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".gitignore", "*.log\n")
    for rel in ("a.txt", "a.log", "sub/b.log", "sub/b.txt", "sub/deeper/c.log"):
        write(app, rel)
    assert paths(app) == [".gitignore", "a.txt", "sub/b.txt"]


def test_gitignore_in_a_subfolder_applies_only_below_it(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "sub/.gitignore", "secret.txt\n/local.txt\n")
    for rel in ("secret.txt", "local.txt", "sub/secret.txt", "sub/local.txt",
                "sub/deeper/secret.txt", "sub/deeper/local.txt", "other/secret.txt"):
        write(app, rel)
    assert paths(app) == ["local.txt", "other/secret.txt", "secret.txt", "sub/.gitignore",
                          "sub/deeper/local.txt"]


def test_negation_keeps_a_file(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".gitignore", "*.log\n!keep.log\n")
    for rel in ("x.log", "keep.log", "sub/y.log", "sub/keep.log"):
        write(app, rel)
    assert paths(app) == [".gitignore", "keep.log", "sub/keep.log"]


def test_deepest_ignore_file_decides(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".gitignore", "*.log\n")
    write(app, "sub/.gitignore", "!keep.log\n*.tmp\n")
    for rel in ("keep.log", "sub/keep.log", "sub/other.log", "a.tmp", "sub/b.tmp"):
        write(app, rel)
    assert paths(app) == [".gitignore", "a.tmp", "sub/.gitignore", "sub/keep.log"]


def test_wakeignore_works_like_gitignore(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".wakeignore", "docs/\n*.psd\n")
    write(app, "assets/.wakeignore", "raw/\n")
    for rel in ("docs/index.md", "logo.psd", "assets/img/logo.psd", "assets/raw/big.bin",
                "assets/app.css", "raw/kept.bin"):
        write(app, rel)
    assert paths(app) == [".wakeignore", "assets/.wakeignore", "assets/app.css", "raw/kept.bin"]


def test_wakeignore_can_re_include_what_gitignore_leaves_out(tmp_path: Path) -> None:
    # Compiled assets are often git-ignored but belong in the image.
    app = tmp_path / "app"
    write(app, ".gitignore", "public/*.js\n")
    write(app, ".wakeignore", "!public/app.js\n")
    write(app, "public/app.js")
    write(app, "public/debug.js")
    assert paths(app) == [".gitignore", ".wakeignore", "public/app.js"]


def test_directory_pattern_matches_folders_only(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".gitignore", "build/\n")
    for rel in ("build/out.o", "sub/build/out.o", "src/main.c"):
        write(app, rel)
    write(app, "notes/build", "a file called build\n")  # a file, not a folder: kept
    assert paths(app) == [".gitignore", "notes/build", "src/main.c"]


def test_a_file_inside_an_ignored_folder_cannot_be_re_included(tmp_path: Path) -> None:
    # git: "It is not possible to re-include a file if a parent directory is excluded".
    app = tmp_path / "app"
    write(app, ".gitignore", "build/\n!build/keep.txt\n")
    write(app, "build/keep.txt")
    assert paths(app) == [".gitignore"]


def test_always_ignored_names_at_any_depth(tmp_path: Path) -> None:
    app = tmp_path / "app"
    for rel in (".git/HEAD", ".git/objects/ab/cdef", ".doit.db", "sub/.git/config",
                "sub/.doit.db.dat", ".hg/store", ".svn/entries", "keep.txt", ".gitkeep",
                "sub/.github/workflow.yml"):
        write(app, rel)
    assert {".git", ".doit.db", ".hg", ".svn"} <= tree.ALWAYS_IGNORED
    assert paths(app) == [".gitkeep", "keep.txt", "sub/.github/workflow.yml"]


def test_dependency_and_cache_folders_are_left_out_by_default(tmp_path: Path) -> None:
    app = tmp_path / "app"
    for rel in ("node_modules/left-pad/index.js", "web/node_modules/x/package.json",
                "__pycache__/app.cpython-311.pyc", "pkg/__pycache__/m.pyc", ".venv/bin/python",
                "app.py", "pkg/m.py", "package.json"):
        write(app, rel)
    assert paths(app) == ["app.py", "package.json", "pkg/m.py"]


def test_an_ignore_file_can_take_a_default_ignored_folder_back(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".wakeignore", "!vendor/node_modules/\n")
    write(app, ".gitignore", "*.log\n")  # matches nothing below: the default still holds
    write(app, "vendor/node_modules/dep/index.js")
    write(app, "node_modules/dep/index.js")
    assert paths(app) == [".gitignore", ".wakeignore", "vendor/node_modules/dep/index.js"]


def test_dockerignore_at_the_root_with_dockers_anchoring(tmp_path: Path) -> None:
    app = tmp_path / "app"
    # Docker matches from the context root: `*.log` is the top folder's logs only;
    # `**/*.tmp` every depth; `/secrets`, `docs/` and `build` the top-level names.
    write(app, ".dockerignore", "# comment\n*.log\n**/*.tmp\n/secrets\ndocs/\n./build\n")
    for rel in ("a.log", "sub/a.log", "x.tmp", "sub/deep/y.tmp", "secrets", "sub/secrets",
                "docs/index.md", "sub/docs/keep.md", "build/out", "app.py"):
        write(app, rel)
    assert paths(app) == [".dockerignore", "app.py", "sub/a.log", "sub/docs/keep.md",
                          "sub/secrets"]


def test_dockerignore_allow_list_style(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".dockerignore", "*\n!src\n!requirements.txt\n")
    for rel in ("src/app.py", "src/pkg/m.py", "requirements.txt", "notes.txt", "tmp/x"):
        write(app, rel)
    assert paths(app) == ["requirements.txt", "src/app.py", "src/pkg/m.py"]


def test_dockerignore_is_read_at_the_root_only(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "sub/.dockerignore", "*.txt\n")  # Docker reads only the context's root one
    write(app, "sub/a.txt")
    assert paths(app) == ["sub/.dockerignore", "sub/a.txt"]


def test_wakeignore_wins_over_dockerignore_and_dockerignore_over_gitignore(
        tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, ".gitignore", "dist/\n*.gen\n")
    write(app, ".dockerignore", "!dist\n*.md\n")
    write(app, ".wakeignore", "!README.md\n")
    for rel in ("dist/app.js", "a.gen", "README.md", "CHANGES.md"):
        write(app, rel)
    assert paths(app) == [".dockerignore", ".gitignore", ".wakeignore", "README.md",
                          "dist/app.js"]


def test_exclude_applies_only_at_the_top_level(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "manifest.json", "{}")
    write(app, "config/manifest.json", "{}")
    write(app, "app.rb")
    assert paths(app, frozenset({"manifest.json"})) == ["app.rb", "config/manifest.json"]
    assert paths(app) == ["app.rb", "config/manifest.json", "manifest.json"]


def test_symlinks_are_followed_only_inside_the_root(tmp_path: Path) -> None:
    app = tmp_path / "app"
    outside = write(tmp_path, "outside/secret.txt")
    write(app, "real/data.txt")
    (app / "inside-link.txt").symlink_to(app / "real" / "data.txt")
    (app / "inside-dir").symlink_to(app / "real", target_is_directory=True)
    (app / "outside-link.txt").symlink_to(outside)
    (app / "outside-dir").symlink_to(outside.parent, target_is_directory=True)
    (app / "dangling").symlink_to(tmp_path / "missing")
    assert paths(app) == ["inside-dir/data.txt", "inside-link.txt", "real/data.txt"]


def test_symlink_to_an_ancestor_does_not_loop(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "a/f.txt")
    (app / "a" / "up").symlink_to("..", target_is_directory=True)
    found = paths(app)
    # a/f.txt itself, and at most once more through the link.
    assert len(found) <= 2, found


# -- hash_tree: digests ---------------------------------------------------------------

def test_hash_tree_lists_sorted_files_with_content_digests(tmp_path: Path,
                                                           cache_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "z.txt", b"zed")
    write(app, "a/b.txt", b"bee")
    write(app, "manifest.json", b"{}")
    files = hash_tree(app, HashCache(cache_path), exclude=frozenset({"manifest.json"}))
    assert pairs(files) == [("a/b.txt", sha(b"bee")), ("z.txt", sha(b"zed"))]
    assert Path(files[0].absolute) == (app / "a" / "b.txt").resolve()
    assert not any(f.executable for f in files)


def test_hash_tree_uses_a_cache_under_wake_home(tmp_path: Path, wake_home: Path) -> None:
    app = tmp_path / "app"
    write(app, "a.txt", b"a")
    assert pairs(hash_tree(app)) == [("a.txt", sha(b"a"))]
    assert (wake_home / "cache" / "filehash.sqlite").is_file()
    default = HashCache()
    assert default.path == wake_home / "cache" / "filehash.sqlite"
    default.close()


def test_identical_content_in_another_folder_has_identical_digests(
        tmp_path: Path, cache_path: Path) -> None:
    one = tmp_path / "one" / "app"
    write(one, ".gitignore", "*.log\n")
    write(one, "Gemfile", b"source 'x'\n")
    write(one, "lib/app.rb", b"puts 1\n")
    write(one, "bin/run", b"#!/bin/sh\n", mode=0o755)
    write(one, "debug.log", b"noise")
    two = tmp_path / "elsewhere" / "copy"
    shutil.copytree(one, two)
    first = hash_tree(one, HashCache(cache_path))
    second = hash_tree(two, HashCache(cache_path))
    assert pairs(first) == pairs(second)
    assert [f.path for f in first] == [".gitignore", "Gemfile", "bin/run", "lib/app.rb"]
    assert first[0].absolute != second[0].absolute


def test_touching_a_file_does_not_change_digests(tmp_path: Path, cache_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "a.txt", b"a")
    write(app, "b.txt", b"b")
    age(app, 100)
    before = pairs(hash_tree(app, HashCache(cache_path)))
    age(app, 50)  # a new mtime for every file, content unchanged
    cache = HashCache(cache_path)
    after = pairs(hash_tree(app, cache))
    assert after == before
    assert cache.misses == 2  # the new mtime did invalidate the cached entries


def test_changing_content_changes_only_that_digest(tmp_path: Path, cache_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "a.txt", b"a")
    write(app, "b.txt", b"b")
    age(app)
    before = dict(pairs(hash_tree(app, HashCache(cache_path))))
    write(app, "b.txt", b"B")
    after = dict(pairs(hash_tree(app, HashCache(cache_path))))
    assert after["a.txt"] == before["a.txt"]
    assert after["b.txt"] != before["b.txt"]
    assert after["b.txt"] == sha(b"B")


def test_executable_bit_changes_the_digest_suffix(tmp_path: Path, cache_path: Path) -> None:
    app = tmp_path / "app"
    script = write(app, "run", b"#!/bin/sh\n", mode=0o644)
    (plain,) = hash_tree(app, HashCache(cache_path))
    assert plain.digest == sha(b"#!/bin/sh\n") and not plain.executable
    script.chmod(0o755)
    (executable,) = hash_tree(app, HashCache(cache_path))
    assert executable.executable
    assert executable.digest == plain.digest + ":x"
    script.chmod(0o744)  # executable by its owner only still counts
    assert hash_tree(app, HashCache(cache_path))[0].digest == plain.digest + ":x"
    script.chmod(0o644)
    assert hash_tree(app, HashCache(cache_path))[0].digest == plain.digest


# -- HashCache ------------------------------------------------------------------------

def test_second_look_at_an_old_tree_is_served_from_the_cache(tmp_path: Path,
                                                             cache_path: Path) -> None:
    app = tmp_path / "app"
    for index in range(5):
        write(app, f"dir{index % 2}/file{index}.txt", f"content {index}")
    age(app)
    first_cache = HashCache(cache_path)
    first = hash_tree(app, first_cache)
    assert (first_cache.hits, first_cache.misses) == (0, 5)
    first_cache.close()
    second_cache = HashCache(cache_path)  # a later run: a new process, the same sqlite file
    second = hash_tree(app, second_cache)
    assert (second_cache.hits, second_cache.misses) == (len(second), 0) == (5, 0)
    assert pairs(second) == pairs(first)


def test_recently_modified_files_are_not_cached(tmp_path: Path, cache_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "fresh.txt", b"new")  # mtime: now, inside the racy window
    write(app, "old.txt", b"old")
    past = time.time() - 10
    os.utime(app / "old.txt", (past, past))
    hash_tree(app, HashCache(cache_path))
    cache = HashCache(cache_path)
    hash_tree(app, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert set(cache.rows) == {str((app / "old.txt").resolve())}


def test_same_size_same_mtime_but_replaced_file_is_re_read(tmp_path: Path,
                                                           cache_path: Path) -> None:
    app = tmp_path / "app"
    target = write(app, "data.bin", b"aaaa")
    write(app, "other.txt", b"unchanged")
    age(app)
    old = os.stat(target)
    first = dict(pairs(hash_tree(app, HashCache(cache_path))))
    assert first["data.bin"] == sha(b"aaaa")
    # Replace it the way editors and `git checkout` do, then put the old mtime back.
    replacement = write(app, "data.bin.new", b"bbbb")
    os.replace(replacement, target)
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    new = os.stat(target)
    assert (new.st_size, new.st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    assert (new.st_ino, new.st_ctime_ns) != (old.st_ino, old.st_ctime_ns)
    cache = HashCache(cache_path)
    second = dict(pairs(hash_tree(app, cache)))
    assert second["data.bin"] == sha(b"bbbb")
    assert second["other.txt"] == first["other.txt"]
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_same_cache_instance_hits_on_a_second_look(tmp_path: Path, cache_path: Path) -> None:
    app = tmp_path / "app"
    write(app, "a.txt", b"a")
    write(app, "b.txt", b"b")
    age(app)
    cache = HashCache(cache_path)
    hash_tree(app, cache)
    hash_tree(app, cache)
    assert (cache.hits, cache.misses) == (2, 2)
