"""Platforms as data: `platforms/<name>/platform.toml` plus Jinja2 templates.

A platform folder holds its detection rules and packages (`platform.toml`) and
its `build.sh`; it may override any of the shared stage templates in
`platforms/_common/`. Adding a platform is adding a folder (docs/platforms.md).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .. import files
from ..errors import FileError, UsageError, WakeError
from . import versions as versions_mod
from .versions import DEFAULT_SUITE, Version, suite_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMMON = "_common"
STAGES = ("platform-compile", "platform-release", "app-deps", "app-compile", "app-release",
          "release")
PLATFORM_KEYS = ("description", "order", "detect", "packages", "env", "version", "versions",
                 "version_files", "dependency_files", "dependency_dirs", "build", "deps")
# The mtime of every file in a build context, and SOURCE_DATE_EPOCH in compile stages:
# fixed, so contexts do not depend on the checkout, and not 1970, which tools refuse
# (zip files, hence wheels, cannot hold dates before 1980). 2000-01-01T00:00:00Z.
SOURCE_DATE_EPOCH = 946684800
VERSION_KEYS = ("name", "full", "suite", "default", "image", "packages")


@cache
def builtin_dir() -> Path:
    """platforms/ inside an installed wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parents[1]  # the wake package
    for candidate in (here / "platforms", here.parent / "platforms"):
        if (candidate / COMMON).is_dir():
            return candidate
    raise WakeError(f"wake's platforms folder is missing (looked in {here / 'platforms'} and "
                    f"{here.parent / 'platforms'}); reinstall wake")


def search_path() -> list[Path]:
    """Extra folders from WAKE_PLATFORMS_PATH first (they override), then the built-ins."""
    extra = [Path(p) for p in os.environ.get("WAKE_PLATFORMS_PATH", "").split(os.pathsep) if p]
    return [*extra, builtin_dir()]


@dataclass(frozen=True)
class Platform:
    name: str
    directory: Path
    description: str
    order: int
    detect_files: tuple[str, ...]
    compile_packages: tuple[str, ...]
    release_packages: tuple[str, ...]
    compile_env: tuple[tuple[str, str], ...]
    release_env: tuple[tuple[str, str], ...]
    version_command: tuple[str, ...]
    version_stage: str
    # The language versions it offers, and the app files that ask for one (in order).
    versions: tuple[Version, ...] = ()
    version_files: tuple[str, ...] = ()
    # Files at the app's root (globs) that decide its dependencies: the app-deps stage
    # copies only these and runs deps.sh, so a source edit does not reinstall them.
    dependency_files: tuple[str, ...] = ()
    # Where deps.sh installs them (relative to /opt/app): release images get these in a
    # layer of their own, which Docker reuses while they are unchanged, so a source edit
    # writes only the source (docs/platforms.md, "Dependencies").
    dependency_dirs: tuple[str, ...] = ()
    # Build tools (compilers, headers, git) that app-deps installs only when the app's
    # dependencies need them (a package with no wheel, a native Node module, a gem with an
    # extension): the compile image most apps pull stays small (docs/platforms.md).
    native_packages: tuple[str, ...] = ()
    # When build.sh has work ([build] in platform.toml): if any of these files is at the
    # app's root, or any of these "file.json:dotted.key" is set. A platform that sets
    # neither always runs it. For an app none holds for (and with no manifest `build`),
    # app-compile is its dependencies alone and the process images copy the source.
    build_if_files: tuple[str, ...] | None = None
    build_if_json: tuple[str, ...] = ()
    # Folders build.sh may keep between builds on the same engine (a compiler's cache):
    # mounted from a volume of the platform's for that step, so never in an image.
    build_caches: tuple[str, ...] = ()
    # The same for deps.sh's install in app-deps ([deps] caches: a package manager's
    # download cache), so a changed lock file downloads only what is new.
    deps_caches: tuple[str, ...] = ()
    # The version an app's stages use (None: the platform as offered, not yet chosen).
    version: Version | None = None

    @property
    def ident(self) -> str:
        """The platform and version in task and image names: python-3.13."""
        return f"{self.name}-{self.version.name}" if self.version else self.name

    @property
    def label(self) -> str:
        """python@3.13, as a manifest writes it."""
        return f"{self.name}@{self.version.name}" if self.version else self.name

    @property
    def suite(self) -> str:
        return self.version.suite if self.version else DEFAULT_SUITE

    def with_version(self, version: Version) -> Platform:
        return dataclasses.replace(
            self, version=version,
            compile_packages=version.compile_packages if version.compile_packages is not None
            else self.compile_packages,
            release_packages=version.release_packages if version.release_packages is not None
            else self.release_packages,
            native_packages=version.native_packages if version.native_packages is not None
            else self.native_packages)

    def detect(self, app_root: Path) -> str | None:
        """The first of this platform's detection files present in app_root, if any."""
        try:
            names = sorted(os.listdir(app_root))
        except OSError:
            return None
        for pattern in self.detect_files:
            for name in names:
                if fnmatch.fnmatchcase(name, pattern) and (app_root / name).is_file():
                    return name
        return None

    def is_dependency_file(self, path: str) -> bool:
        """Whether an app file (relative path) is one the app-deps stage copies."""
        return "/" not in path and any(fnmatch.fnmatchcase(path, pattern)
                                       for pattern in self.dependency_files)

    @property
    def has_deps(self) -> bool:
        """Whether it installs dependencies in app-deps (a deps.sh), as that stage's last
        step."""
        return (self.directory / "deps.sh").is_file()

    def builds(self, app_root: Path) -> bool:
        """Whether build.sh has work for the app at app_root ([build] in platform.toml):
        True unless the platform says when it has, and none of that holds."""
        if self.build_if_files is None:
            return True
        if any((app_root / name).exists() for name in self.build_if_files):
            return True
        for entry in self.build_if_json:
            name, _, dotted = entry.partition(":")
            try:
                value: Any = json.loads((app_root / name).read_bytes())
            except (OSError, ValueError):
                return True  # unreadable: build.sh decides (and says what is wrong)
            for part in dotted.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value:
                return True
        return False

    def template_dirs(self) -> list[Path]:
        return [self.directory, builtin_dir() / COMMON]

    def files(self) -> dict[str, bytes]:
        """Non-template files of the platform that go into its compile image: build.sh,
        deps.sh (installs dependencies in app-deps), native.sh (installs the build tools
        when they are needed) and lib/* (helpers, at /opt/wake/lib/)."""
        found = {"build.sh": (self.directory / "build.sh").read_bytes(),
                 "native.sh": (builtin_dir() / COMMON / "native.sh").read_bytes()}
        if (self.directory / "deps.sh").is_file():
            found["deps.sh"] = (self.directory / "deps.sh").read_bytes()
        lib = self.directory / "lib"
        if lib.is_dir():
            for path in sorted(lib.iterdir()):
                if path.is_file():
                    found[f"lib/{path.name}"] = path.read_bytes()
        return found

    def render(self, template: str, context: dict[str, Any]) -> str:
        env = _jinja_env(tuple(self.template_dirs()))
        try:
            return env.get_template(template).render(platform=self, **context)
        except jinja2.TemplateError as exc:
            raise WakeError(f"platform {self.name}: template {template}: {exc}") from None

    def template_sources(self, template: str) -> Path:
        found = _find_template(tuple(self.template_dirs()), template)
        if found is None:
            raise WakeError(f"platform {self.name}: no template {template}")
        return found

    def context(self) -> dict[str, Any]:
        return {
            "packages": {"compile": self.compile_packages, "release": self.release_packages,
                         "native": self.native_packages},
            "env": {"compile": self.compile_env, "release": self.release_env},
            "source_date_epoch": SOURCE_DATE_EPOCH,
            "has_lib": (self.directory / "lib").is_dir(),
            "has_deps": self.has_deps,
            "dependency_dirs": self.dependency_dirs,
        }


def docker_quote(value: object) -> str:
    r"""`value` as one double-quoted word of a Dockerfile ENV or LABEL, read back byte
    for byte.

    Docker's word processing (moby's shell lexer) unescapes only \\, \" and \$ inside
    double quotes and keeps every other character as it is - unlike JSON, whose escapes
    (\u0026 for &, \u0027 for ') Docker would leave in the value. A line break cannot be
    written at all: it would end the instruction (and a backslash before it would join
    the lines), so it is refused; the manifest refuses it first.
    """
    text = str(value)
    if any(c in text for c in "\n\r\0"):
        raise WakeError(f"cannot write {text!r} in a Dockerfile: it holds a line break or NUL")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


@cache
def _find_template(dirs: tuple[Path, ...], template: str) -> Path | None:
    # Templates do not change during a run; a workspace of 500 apps asks 10,000 times.
    for folder in dirs:
        if (folder / template).is_file():
            return folder / template
    return None


@cache
def _jinja_env(dirs: tuple[Path, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        auto_reload=False,  # one run renders with the templates it started with
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shquote"] = lambda value: shlex.quote(str(value))
    env.filters["dockerquote"] = docker_quote
    return env


def _load_one(directory: Path) -> Platform:
    source = directory / "platform.toml"
    try:
        data = tomllib.loads(files.read_text(source))
    except FileError as exc:
        raise UsageError(f"{source}: cannot read platform definition: {exc.reason}") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{source}: cannot read platform definition: {exc}") from None
    problems = [f"unknown key {key!r}" for key in data if key not in PLATFORM_KEYS]

    def strings(value: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{field} must be a list of strings")
            return ()
        return tuple(value)

    def env_table(value: Any, field: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{field} must be a table of strings")
            return ()
        return tuple(sorted(value.items()))

    order = data.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        problems.append("order must be an integer")
        order = 100

    def table(name: str, keys: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"[{name}] must be a table")
            return {}
        for key in value:
            if key not in keys:
                problems.append(f"unknown key {key!r} in [{name}]; known: {', '.join(keys)}")
        return value

    detect = strings(data.get("detect", []), "detect")
    packages = table("packages", ("compile", "release", "native"))
    env = table("env", ("compile", "release"))
    version = table("version", ("command", "stage"))
    build = table("build", ("if_files", "if_json", "caches"))
    deps = table("deps", ("caches",))
    build_caches = strings(build.get("caches", []), "build.caches")
    deps_caches = strings(deps.get("caches", []), "deps.caches")
    for field, paths in (("build.caches", build_caches), ("deps.caches", deps_caches)):
        for path in paths:
            if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", path) or ".." in path.split("/"):
                problems.append(f"{field}: {path!r} is not an absolute folder path "
                                "(e.g. /tmp/go-cache)")
    build_if_files = strings(build.get("if_files", []), "build.if_files")
    build_if_json = strings(build.get("if_json", []), "build.if_json")
    for name in build_if_files:
        if not re.fullmatch(r"[^/]+", name):
            problems.append(f"build.if_files: {name!r} is not a file name at the app's root")
    for entry in build_if_json:
        if not re.fullmatch(r"[^/:]+\.json:[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*", entry):
            problems.append(f"build.if_json: {entry!r} is not FILE.json:dotted.key "
                            "(e.g. package.json:scripts.build)")
    platform = Platform(
        name=directory.name,
        directory=directory,
        description=str(data.get("description", "")),
        order=order,
        detect_files=detect,
        compile_packages=strings(packages.get("compile", []), "packages.compile"),
        release_packages=strings(packages.get("release", []), "packages.release"),
        native_packages=strings(packages.get("native", []), "packages.native"),
        compile_env=env_table(env.get("compile", {}), "env.compile"),
        release_env=env_table(env.get("release", {}), "env.release"),
        version_command=strings(version.get("command", []), "version.command"),
        version_stage=str(version.get("stage", "platform-release")),
        versions=_versions(data.get("versions"), problems),
        version_files=strings(data.get("version_files", []), "version_files"),
        dependency_files=strings(data.get("dependency_files", []), "dependency_files"),
        dependency_dirs=strings(data.get("dependency_dirs", []), "dependency_dirs"),
        build_if_files=build_if_files if "if_files" in build or "if_json" in build else None,
        build_if_json=build_if_json,
        build_caches=build_caches,
        deps_caches=deps_caches,
    )
    for name in platform.dependency_dirs:
        if not re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", name) or \
                ".." in name.split("/") or name == ".":
            problems.append(f"dependency_dirs: {name!r} is not a folder inside the app "
                            "(e.g. .venv or node_modules)")
    for name in platform.version_files:
        if name not in versions_mod.READERS:
            problems.append(f"version_files: wake cannot read a version from {name!r}; "
                            f"it reads {', '.join(versions_mod.READERS)}")
    if platform.version_stage not in ("platform-compile", "platform-release"):
        problems.append("version.stage must be platform-compile or platform-release")
    if not (directory / "build.sh").is_file():
        problems.append("build.sh is missing (it builds the app in the app-compile stage)")
    if problems:
        raise UsageError(f"{source}: " + "; ".join(problems))
    return platform


def _versions(value: Any, problems: list[str]) -> tuple[Version, ...]:
    """[[versions]] tables; none means one version: the default suite's packages."""
    if value is None:
        return (Version(name=DEFAULT_SUITE, full="", suite=DEFAULT_SUITE, default=True),)
    if not isinstance(value, list) or not value:
        problems.append("versions must be a non-empty array of tables ([[versions]])")
        return ()
    out = [parse_version(entry, f"versions[{i}]", problems) for i, entry in enumerate(value)]
    found = tuple(v for v in out if v is not None)
    if sum(v.default for v in found) != 1 and found:
        problems.append("exactly one of [[versions]] must say default = true")
    if len({v.name for v in found}) != len(found):
        problems.append("[[versions]] names must be unique")
    return found


def parse_version(entry: Any, where: str, problems: list[str]) -> Version | None:
    """One [[versions]] table (of platform.toml or of config.toml)."""
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table")
        return None
    unknown = [k for k in entry if k not in (*VERSION_KEYS, "platform")]
    if unknown:
        problems.append(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(VERSION_KEYS)}")
        return None
    name, full = entry.get("name"), entry.get("full")
    image, suite = entry.get("image"), entry.get("suite")
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "._" for c in name):
        problems.append(f"{where}: name must be a version like \"3.13\" (letters, digits, "
                        "dots)")
        return None
    if not isinstance(full, str) or not versions_mod.numbers(full):
        problems.append(f"{where}: full must be the installed version, like \"3.13.5\"")
        return None
    if image is not None and (not isinstance(image, str) or not image):
        problems.append(f"{where}: image must be an image name like \"python:3.13-slim\"")
        return None
    if suite is None and image is None:
        problems.append(f"{where}: give suite = \"bookworm\" (Debian's packages) or "
                        "image = \"...\" (a base image of its own)")
        return None
    if suite is not None and not isinstance(suite, str):
        problems.append(f"{where}: suite must be a Debian codename like \"trixie\"")
        return None
    packages = entry.get("packages", {})
    if not isinstance(packages, dict) or any(
            k not in ("compile", "release", "native") or not isinstance(v, list)
            or not all(isinstance(x, str) for x in v) for k, v in packages.items()):
        problems.append(f"{where}: packages must be a table of compile = [...], release = "
                        "[...], native = [...]")
        return None
    return Version(name=name, full=full, suite=suite or suite_for(str(image)),
                   default=entry.get("default") is True, image=image,
                   compile_packages=tuple(packages["compile"]) if "compile" in packages
                   else None,
                   release_packages=tuple(packages["release"]) if "release" in packages
                   else None,
                   native_packages=tuple(packages["native"]) if "native" in packages
                   else None)


def _added_versions(registry: dict[str, Platform]) -> dict[str, Platform]:
    """Versions added in $WAKE_HOME/config.toml ([[versions]] with platform = ...)."""
    from .. import settings

    entries = settings.load().versions
    if not entries:
        return registry
    where = str(settings.check_home() / "config.toml")
    problems: list[str] = []
    for index, entry in enumerate(entries):
        name = entry.get("platform") if isinstance(entry, dict) else None
        if name not in registry:
            problems.append(f"versions[{index}]: platform = {name!r} is not a platform; "
                            f"known: {', '.join(sorted(registry))}")
            continue
        version = parse_version(entry, f"versions[{index}]", problems)
        if version is None:
            continue
        platform = registry[name]
        kept = tuple(v for v in platform.versions if v.name != version.name)
        if version.default:  # the added one becomes the default
            kept = tuple(dataclasses.replace(v, default=False) for v in kept)
        registry[name] = dataclasses.replace(platform, versions=(*kept, version))
    if problems:
        raise UsageError(f"{where}: " + "; ".join(problems))
    return registry


def load_all() -> dict[str, Platform]:
    """Every platform on the search path, by name; earlier folders win; plus the
    versions config.toml adds."""
    found: dict[str, Platform] = {}
    for folder in search_path():
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if child.name.startswith(("_", ".")) or child.name in found:
                continue
            if os.path.lexists(child / "platform.toml"):  # _load_one says if not a file
                found[child.name] = _load_one(child)
    return _added_versions(found)


def detection_order(registry: dict[str, Platform]) -> list[Platform]:
    return sorted(registry.values(), key=lambda p: (p.order, p.name))


@dataclass(frozen=True)
class Detection:
    platform: Platform  # with the chosen version
    reason: str  # "manifest.json sets \"platform\"" or the file that decided it
    version_reason: str = "default"

    def describe(self) -> str:
        """python@3.13 (3.13.5, Debian trixie) - platform: requirements.txt; version:
        .python-version"""
        version = self.platform.version
        assert version is not None
        where = f"image {version.image}" if version.image else f"Debian {version.suite}"
        full = f"{version.full}, {where}" if version.full else where
        return (f"{self.platform.label} ({full}) - platform: {self.reason}; "
                f"version: {self.version_reason}")


def detect(app_root: Path, manifest_platform: str | None = None,
           registry: dict[str, Platform] | None = None) -> Detection:
    """Decide an app's platform (the manifest's `platform` wins, then files in order)
    and its version (the manifest's `platform@version`, then the app's version files)."""
    registry = registry if registry is not None else load_all()
    if manifest_platform:
        name, _, wanted = manifest_platform.partition("@")
        if name not in registry:
            raise UsageError(f"{app_root / 'manifest.json'}: platform: unknown platform "
                             f"{name!r}; known: {', '.join(sorted(registry))}")
        return _with_version(registry[name], app_root, 'manifest.json sets "platform"', wanted)
    for platform in detection_order(registry):
        found = platform.detect(app_root)
        if found:
            return _with_version(platform, app_root, found, "")
    looked = "; ".join(f"{p.name}: {', '.join(p.detect_files)}"
                       for p in detection_order(registry))
    raise UsageError(f"{app_root}: cannot tell the platform; looked for {looked}. "
                     "Add one of those files, or set \"platform\" in manifest.json")


def _with_version(platform: Platform, app_root: Path, reason: str, wanted: str) -> Detection:
    if wanted:
        version = versions_mod.by_name(platform.versions, wanted,
                                       f"{app_root / 'manifest.json'}: platform")
        return Detection(platform.with_version(version), reason,
                         f'manifest.json "platform": "{platform.name}@{wanted}"')
    request = versions_mod.requested(app_root, platform.version_files)
    version = versions_mod.choose(platform.versions, request, f"{app_root}/")
    return Detection(platform.with_version(version), reason,
                     request.source if request else "default")
