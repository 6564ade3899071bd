"""A workspace: the apps wake builds, listed in `wake.toml`.

    [[apps]]
    path = "examples/bestsiteever"      # relative to wake.toml

    [[apps]]
    git = "git://127.0.0.1/shop.git"    # cloned into $WAKE_HOME/cache/apps
    ref = "main"                        # branch, tag or commit (default: HEAD)
    subdir = "."                        # where manifest.json is inside the repo

Without a wake.toml, a folder holding manifest.json is itself the one app; else every
folder directly under it that holds a manifest.json is an app. WAKE_WORKSPACE names a
wake.toml explicitly.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files
from .. import manifest as manifest_mod
from ..errors import UsageError
from ..manifest import Manifest
from ..settings import wake_home
from . import platforms as platforms_mod
from . import repos
from .cycles import find_cycle
from .keys import sha256
from .platforms import Platform

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WORKSPACE_FILE = "wake.toml"
APP_KEYS = ("path", "git", "ref", "subdir")
EXAMPLES = {"path": "apps/shop", "git": "https://git.example.com/shop.git", "ref": "main",
            "subdir": "."}


@dataclass(frozen=True)
class App:
    manifest: Manifest
    platform: Platform
    detected_by: str  # the file that decided the platform, or the manifest field

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def root(self) -> Path:
        return self.manifest.root


@dataclass(frozen=True)
class Workspace:
    source: Path | None  # the wake.toml, if any
    apps: tuple[App, ...]

    def deploy_order(self) -> list[tuple[str, str]]:
        """(dependency, app) pairs between the workspace's apps: `deploy:<app>` runs after
        `deploy:<dependency>`. Apps outside the workspace are the cluster's business."""
        names = {a.name for a in self.apps}
        return sorted((dep, a.name) for a in self.apps for dep in a.manifest.dependencies
                      if dep in names)

    def app(self, name: str) -> App:
        for app in self.apps:
            if app.name == name:
                return app
        known = ", ".join(a.name for a in self.apps) or "(none)"
        raise UsageError(f"no app named {name!r} in the workspace; apps: {known}")


def find_file(start: Path | None = None) -> Path | None:
    """$WAKE_WORKSPACE, else the wake.toml in `start` (default: the current folder) or the
    nearest parent."""
    if os.environ.get("WAKE_WORKSPACE"):
        path = Path(os.environ["WAKE_WORKSPACE"])
        if not os.path.lexists(path):
            raise UsageError(f"WAKE_WORKSPACE={path}: no such file")
        return path  # load() says if it is not a readable file
    return nearest_file(start or Path.cwd())


def nearest_file(start: Path) -> Path | None:
    """The wake.toml in `start` or its nearest parent (WAKE_WORKSPACE aside)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if os.path.lexists(folder / WORKSPACE_FILE):
            return folder / WORKSPACE_FILE
    return None


def app_roots(folder: Path) -> list[Path]:
    """The apps of a folder without a wake.toml: the folder itself when it holds a
    manifest.json, else the folders directly under it that hold one."""
    if os.path.lexists(folder / manifest_mod.MANIFEST_NAME):
        return [folder]
    return sorted(p.parent for p in folder.glob("*/" + manifest_mod.MANIFEST_NAME))


def found_in(folder: Path) -> bool:
    """Whether `wake` run in `folder` finds apps there (WAKE_WORKSPACE aside)."""
    return nearest_file(folder) is not None or bool(app_roots(folder))


def load_app(root: Path, registry: dict[str, Platform]) -> App:
    manifest = manifest_mod.load(root, known_platforms=registry)
    detection = platforms_mod.detect(manifest.root, manifest.platform, registry)
    return App(manifest=manifest, platform=detection.platform, detected_by=detection.reason)


def _git_app(url: str, ref: str | None) -> Path:
    commit = repos.resolve(url, ref)
    checkout = wake_home() / "cache" / "apps" / sha256(url)[:24]
    if not (checkout / ".git").is_dir():
        checkout.parent.mkdir(parents=True, exist_ok=True)
        repos.git("clone", "--quiet", "--", url, str(checkout))
    head = repos.git("rev-parse", "HEAD", cwd=checkout).strip()
    if head != commit:
        repos.git("fetch", "--quiet", "origin", cwd=checkout)
        repos.git("checkout", "--quiet", "--detach", commit, cwd=checkout)
    return checkout


def _read(source: Path) -> dict[str, Any]:
    text = files.read_text(source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: cannot read workspace: {exc}") from None
    except (ValueError, RecursionError):  # a number too long, absurd nesting
        raise UsageError(f"{source}: cannot read workspace: a value too long or too deeply "
                         "nested to read") from None


def _app_root(source: Path, where: str, entry: Any) -> Path:
    """The folder holding one [[apps]] entry's manifest.json, or a UsageError at `where`."""
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: must be a table with path = ... or git = ...")
    unknown = [k for k in entry if k not in APP_KEYS]
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0][:80]!r}; known: "
                         f"{', '.join(APP_KEYS)}")
    if ("path" in entry) == ("git" in entry):
        raise UsageError(f"{where}: give exactly one of path = \"...\" or git = \"...\"")
    for key, value in entry.items():
        if not isinstance(value, str) or not value or "\0" in value:
            raise UsageError(f"{where}: {key} must be a non-empty string without NUL "
                             f"characters, e.g. {key} = \"{EXAMPLES[key]}\"")
    for key in ("git", "ref"):
        if entry.get(key, "").startswith("-"):
            raise UsageError(f"{where}: {key} = {entry[key][:80]!r} starts with '-' (git "
                             "would read it as an option); give a URL, a path or a ref name")
    subdir: str = entry.get("subdir", ".")
    if Path(subdir).is_absolute() or ".." in Path(subdir).parts:
        raise UsageError(f"{where}: subdir = {subdir[:80]!r} must be a relative path inside "
                         "the app's folder or repository (no '..', not absolute)")
    root: Path
    if "path" in entry:
        root = (source.parent / entry["path"]).resolve()
    else:
        root = _git_app(entry["git"], entry.get("ref"))
    found = (root / subdir).resolve()
    if not found.is_relative_to(root):  # a symlink that leads out
        raise UsageError(f"{where}: subdir = {subdir[:80]!r} leads out of {root}")
    return found


def load(path: Path | str | None = None, folder: Path | None = None) -> Workspace:
    """The workspace at `path` (a wake.toml), else the one found from `folder` (default:
    the current folder)."""
    here = folder or Path.cwd()
    source = Path(path) if path else find_file(here)
    registry = platforms_mod.load_all()
    roots: list[Path] = []
    if source is None:
        roots = app_roots(here)
    else:
        data = _read(source)
        for key in data:
            if key != "apps":
                raise UsageError(f"{source}: unknown key {key[:80]!r}; a workspace lists its "
                                 "apps as [[apps]] tables")
        entries = data.get("apps", [])
        if not isinstance(entries, list):
            raise UsageError(f"{source}: apps must be an array of tables ([[apps]])")
        for index, entry in enumerate(entries):
            roots.append(_app_root(source, f"{source}: apps[{index}]", entry))
    apps = [load_app(root, registry) for root in roots]
    seen: dict[str, Path] = {}
    for app in apps:
        if app.name in seen:
            raise UsageError(f"two apps are named {app.name!r}: {seen[app.name]} and "
                             f"{app.root}; app names must be unique in a workspace")
        seen[app.name] = app.root
    workspace = Workspace(source=source, apps=tuple(apps))
    _check_cycles(workspace)
    return workspace


def _check_cycles(workspace: Workspace) -> None:
    """Dependencies decide the deploy order: a cycle has none."""
    path = find_cycle(workspace.deploy_order())
    if path is None:
        return
    # Edges run dependency -> app; people read "a depends on b".
    said = " -> ".join(reversed(path))
    where = {a.name: a.manifest.source for a in workspace.apps}
    raise UsageError(f"apps depend on each other in a cycle: {said} (each depends on the "
                     f"next; see `dependencies` in "
                     f"{', '.join(str(where[n]) for n in sorted(set(path)))}). Deploys go "
                     "dependencies first, so a cycle has no order: remove one of them")
