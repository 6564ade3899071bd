"""Platforms as data: `platforms/<name>/platform.toml` plus Jinja2 templates.

A platform folder holds its detection rules and packages (`platform.toml`) and
its `build.sh`; it may override any of the shared stage templates in
`platforms/_common/`. Adding a platform is adding a folder (docs/platforms.md).
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from .. import files
from ..errors import FileError, UsageError, WakeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COMMON = "_common"
STAGES = ("platform-compile", "platform-release", "app-compile", "app-release", "release")
PLATFORM_KEYS = ("description", "order", "detect", "packages", "env", "version")


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

    def template_dirs(self) -> list[Path]:
        return [self.directory, builtin_dir() / COMMON]

    def files(self) -> dict[str, bytes]:
        """Non-template files of the platform that go into its compile image."""
        return {"build.sh": (self.directory / "build.sh").read_bytes()}

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
            "packages": {"compile": self.compile_packages, "release": self.release_packages},
            "env": {"compile": self.compile_env, "release": self.release_env},
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
    packages = table("packages", ("compile", "release"))
    env = table("env", ("compile", "release"))
    version = table("version", ("command", "stage"))
    platform = Platform(
        name=directory.name,
        directory=directory,
        description=str(data.get("description", "")),
        order=order,
        detect_files=detect,
        compile_packages=strings(packages.get("compile", []), "packages.compile"),
        release_packages=strings(packages.get("release", []), "packages.release"),
        compile_env=env_table(env.get("compile", {}), "env.compile"),
        release_env=env_table(env.get("release", {}), "env.release"),
        version_command=strings(version.get("command", []), "version.command"),
        version_stage=str(version.get("stage", "platform-release")),
    )
    if platform.version_stage not in ("platform-compile", "platform-release"):
        problems.append("version.stage must be platform-compile or platform-release")
    if not (directory / "build.sh").is_file():
        problems.append("build.sh is missing (it builds the app in the app-compile stage)")
    if problems:
        raise UsageError(f"{source}: " + "; ".join(problems))
    return platform


def load_all() -> dict[str, Platform]:
    """Every platform on the search path, by name; earlier folders win."""
    found: dict[str, Platform] = {}
    for folder in search_path():
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if child.name.startswith(("_", ".")) or child.name in found:
                continue
            if os.path.lexists(child / "platform.toml"):  # _load_one says if not a file
                found[child.name] = _load_one(child)
    return found


def detection_order(registry: dict[str, Platform]) -> list[Platform]:
    return sorted(registry.values(), key=lambda p: (p.order, p.name))


@dataclass(frozen=True)
class Detection:
    platform: Platform
    reason: str  # "manifest.json sets \"platform\"" or the file that decided it


def detect(app_root: Path, manifest_platform: str | None = None,
           registry: dict[str, Platform] | None = None) -> Detection:
    """Decide an app's platform: the manifest's `platform` wins, then files in order."""
    registry = registry if registry is not None else load_all()
    if manifest_platform:
        if manifest_platform not in registry:
            raise UsageError(f"{app_root / 'manifest.json'}: platform: unknown platform "
                             f"{manifest_platform!r}; known: {', '.join(sorted(registry))}")
        return Detection(registry[manifest_platform], 'manifest.json sets "platform"')
    for platform in detection_order(registry):
        found = platform.detect(app_root)
        if found:
            return Detection(platform, found)
    looked = "; ".join(f"{p.name}: {', '.join(p.detect_files)}"
                       for p in detection_order(registry))
    raise UsageError(f"{app_root}: cannot tell the platform; looked for {looked}. "
                     "Add one of those files, or set \"platform\" in manifest.json")
