"""`wake init`: make a folder a workspace doit runs in - a dodo.py that loads wake's tasks
and, when the folder is not itself the one app, a wake.toml listing its apps."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import manifest as manifest_mod
from ..errors import UsageError
from ..files import os_error
from . import platforms as platforms_mod
from . import workspace
from .tree import ALWAYS_IGNORED, DEFAULT_IGNORED
from .workspace import App

# The checkout's own dodo.py is this text too (a unit test keeps them equal).
DODO = '''"""doit entry point for wake: `doit list`, `doit build:APP`, `doit deploy:APP`.

The apps are those of the workspace: the wake.toml here, else the app whose manifest.json
is here (see wake's docs/workspace.md). `wake init` writes this file.
"""

from wake.tasks import DOIT_CONFIG, build_tasks, deploy_tasks, graph_task

__all__ = ["DOIT_CONFIG"]  # doit reads it from this module


def task_build():  # type: ignore[no-untyped-def]
    """wake's build graph: platform stages, app stages, one release image per process."""
    yield from build_tasks()


def task_deploy():  # type: ignore[no-untyped-def]
    """deploy each app to the current cluster: doit deploy:APP (a no-op when nothing changed)"""
    yield from deploy_tasks()


def task_graph():  # type: ignore[no-untyped-def]
    """draw the build graph: doit graph --format svg|dot|html --output FILE"""
    return graph_task()
'''
DODO_FILE = "dodo.py"
# How deep below the folder `wake init` looks for apps (a monorepo's services/*/web).
MAX_DEPTH = 4


@dataclass(frozen=True)
class Result:
    folder: Path
    apps: tuple[tuple[str, App], ...]  # (path relative to the folder, app)
    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]  # already there with the same content

    @property
    def one_app_at_root(self) -> bool:
        return [path for path, _ in self.apps] == ["."]


def find_apps(folder: Path) -> list[Path]:
    """The folder itself when it holds a manifest.json; else every folder below it that
    does (not below an app, nor in hidden, dependency or cache folders)."""
    if os.path.lexists(folder / manifest_mod.MANIFEST_NAME):
        return [folder]
    found = []
    for current, dirs, names in os.walk(folder):
        depth = len(Path(current).relative_to(folder).parts)
        if depth and manifest_mod.MANIFEST_NAME in names:
            found.append(Path(current))
            dirs[:] = []  # an app's subfolders are part of it
        elif depth >= MAX_DEPTH:
            dirs[:] = []
        else:
            dirs[:] = [d for d in dirs if not d.startswith(".")
                       and d not in DEFAULT_IGNORED and d not in ALWAYS_IGNORED]
    return sorted(found)


def workspace_toml(paths: list[str]) -> str:
    # JSON's string escapes are TOML's (non-ASCII kept as is: TOML has no surrogates).
    entries = "".join(f"[[apps]]\npath = {json.dumps(p, ensure_ascii=False)}\n\n"
                      for p in paths)
    return ("# The apps `doit` and `wake` build from this folder (written by `wake init`;\n"
            "# add an app by path or by git URL: see wake's docs/workspace.md).\n\n"
            + entries.rstrip("\n") + "\n")


def init(folder: Path, force: bool = False) -> Result:
    """Write FOLDER/dodo.py and, unless FOLDER is itself the one app, FOLDER/wake.toml.
    Nothing is written when an app is invalid, or when a file is there with other content
    and not `force`."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    folder = folder.resolve()
    roots = find_apps(folder)
    if not roots:
        raise UsageError(f"no manifest.json in {folder} or its subfolders (up to {MAX_DEPTH} "
                         "deep): write one for each app (docs/manifest.md), then run wake "
                         "init again")
    registry = platforms_mod.load_all()
    apps = [(root.relative_to(folder).as_posix(), workspace.load_app(root, registry))
            for root in roots]
    seen: dict[str, str] = {}
    for where, app in apps:
        if app.name in seen:
            raise UsageError(f"two apps are named {app.name!r}: {seen[app.name]} and {where}; "
                             "app names must be unique in a workspace (manifest.json \"name\")")
        seen[app.name] = where
    files = {folder / DODO_FILE: DODO}
    # One app at the root needs no wake.toml, unless a parent's would be found first.
    if roots != [folder] or workspace.nearest_file(folder) is not None:
        files[folder / workspace.WORKSPACE_FILE] = workspace_toml([p for p, _ in apps])
    unchanged = [path for path, text in files.items() if _holds(path, text)]
    clashes = [path for path in files if path not in unchanged and os.path.lexists(path)]
    folders = [path for path in clashes if path.is_dir()]
    if folders:
        raise UsageError(f"{folders[0]} is a folder; wake init writes a file there: move it")
    if clashes and not force:
        names = " and ".join(str(p) for p in clashes)
        verb, them = ("exists", "it") if len(clashes) == 1 else ("exist", "them")
        raise UsageError(f"{names} already {verb}; wake init does not overwrite {them} "
                         f"(--force replaces {them})")
    written = []
    for path, text in files.items():
        if path not in unchanged:
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise os_error(path, exc, "cannot write it") from None
            written.append(path)
    return Result(folder, tuple(apps), tuple(written), tuple(unchanged))


def _holds(path: Path, text: str) -> bool:
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
