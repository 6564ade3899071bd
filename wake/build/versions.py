"""Language versions: which of a platform's offered versions an app gets.

A platform offers versions (`[[versions]]` in its platform.toml: the version Debian's
suite ships, or another base image). The app's own files ask for one, as the
buildpacks read them (`.python-version`, `runtime.txt`, `requires-python`,
`engines.node`, `.nvmrc`, `.ruby-version`, go.mod's `go` line, ...); the manifest's
`"platform": "python@3.13"` overrides them. Of the offered versions that satisfy the
request, the platform's default wins when it is one of them, else the newest: an app
moves to a newer runtime only when it asks for one.

Versions are Debian's builds, so a request names a release line, not a patch level:
`.python-version` 3.13.1 is satisfied by Debian's 3.13.5 (Python and Ruby compare
major.minor, Node the major version).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files
from ..errors import FileError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


DEFAULT_SUITE = "bookworm"
# Debian codenames debootstrap knows how to make; used to read a suite off a tag.
KNOWN_SUITES = ("buster", "bullseye", "bookworm", "trixie", "sid")
NUMBERED_SUITES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}

def suite_for(image: str) -> str:
    """Read the Debian suite off a tag like debian:bookworm-slim; default bookworm."""
    image = image.split("@", 1)[0]  # a digest pin says nothing about the suite
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    version = tag.split("-", 1)[0].split(".", 1)[0]
    if version in NUMBERED_SUITES:
        return NUMBERED_SUITES[version]
    for suite in KNOWN_SUITES:
        if tag == suite or tag.startswith(suite + "-"):
            return suite
    return DEFAULT_SUITE



@dataclass(frozen=True)
class Version:
    """One version a platform offers."""

    name: str  # what apps and manifests say: "3.13", "20", "1.24"
    full: str  # the version that is installed, e.g. "3.13.5" (compared against requests)
    suite: str  # the Debian suite whose packages the platform stages install
    default: bool = False
    image: str | None = None  # a base image of its own instead of the suite's
    compile_packages: tuple[str, ...] | None = None  # None: the platform's packages
    release_packages: tuple[str, ...] | None = None
    native_packages: tuple[str, ...] | None = None

    def describe(self) -> str:
        where = f"image {self.image}" if self.image else f"Debian {self.suite}"
        return f"{self.name} ({self.full}, {where})"


@dataclass(frozen=True)
class Request:
    """A version an app asks for, and where it asked."""

    text: str  # as written
    source: str  # "pyproject.toml (requires-python)"
    accepts: Callable[[str], bool]  # full version -> satisfied?


def numbers(text: str) -> tuple[int, ...]:
    """'3.13.5' -> (3, 13, 5), '3.1.2p20' -> (3, 1, 2); stops where the numbers end."""
    out = []
    for part in re.split(r"[.\-+]", text.strip().lstrip("vV")):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        out.append(int(digits.group()))
        if digits.end() != len(part):  # 2p20 (Ruby's patch level): 2, then stop
            break
    return tuple(out)


def line_of(significant: int) -> Callable[[str], Callable[[str], bool]]:
    """A request for a release line: the first `significant` numbers must agree
    (fewer when the request gives fewer: "3" accepts any 3.x)."""

    def make(text: str) -> Callable[[str], bool]:
        wanted = numbers(text)[:significant]
        if not wanted:
            raise ValueError(f"{text!r} is not a version number")
        return lambda full: numbers(full)[:len(wanted)] == wanted

    return make


def at_least(text: str) -> Callable[[str], bool]:
    wanted = numbers(text)
    if not wanted:
        raise ValueError(f"{text!r} is not a version number")
    return lambda full: numbers(full) >= wanted


def pep440(text: str) -> Callable[[str], bool]:
    """requires-python and friends: PEP 440 specifiers (">=3.12,<4")."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise ValueError(str(exc)) from None
    return lambda full: spec.contains(full, prereleases=True)


def npm_range(text: str) -> Callable[[str], bool]:
    """engines.node: npm's semver ranges ("^20", ">=20.9.0", "18.x || 20.x")."""
    import semantic_version

    try:
        spec = semantic_version.NpmSpec(text.strip())
    except ValueError as exc:
        raise ValueError(str(exc)) from None

    def accepts(full: str) -> bool:
        parts = (list(numbers(full)) + [0, 0, 0])[:3]
        return bool(spec.match(semantic_version.Version(".".join(map(str, parts)))))

    return accepts


def gem_requirement(text: str) -> Callable[[str], bool]:
    """Gemfile's `ruby "~> 3.3"` / `ruby ">= 3.1"` / `ruby "3.3.0"` (a release line)."""
    text = text.strip()
    match = re.fullmatch(r"(~>|>=|>|<=|<|=)?\s*([0-9][0-9.]*)", text)
    if not match:
        raise ValueError(f"{text!r} is not a Ruby version requirement")
    op, version = match[1] or "=", numbers(match[2])
    if op == "~>":  # pessimistic: ~> 3.3 means >= 3.3, < 4; ~> 3.3.1 means < 3.4
        upper = (*version[:-2], version[-2] + 1) if len(version) > 1 else (version[0] + 1,)
        return lambda full: version <= numbers(full) and numbers(full)[:len(upper)] < upper
    if op == "=":
        return line_of(2)(match[2])
    compare: dict[str, Callable[[tuple[int, ...]], bool]] = {
        ">=": lambda v: v >= version, ">": lambda v: v > version,
        "<=": lambda v: v <= version, "<": lambda v: v < version}
    return lambda full: compare[op](numbers(full))


# -- readers: (file name, reader) per platform; the first file that asks decides ---------

Reader = Callable[[Path], "Request | None"]


def _first_line(path: Path) -> str | None:
    for line in files.read_text(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line
    return None


def _request(text: str, source: str, make: Callable[[str], Callable[[str], bool]]) -> Request:
    try:
        return Request(text, source, make(text))
    except ValueError as exc:
        raise UsageError(f"{source}: cannot read the version {text!r}: {exc}") from None


def python_version_file(path: Path) -> Request | None:
    text = _first_line(path)
    if text is None:
        return None
    if not re.match(r"^v?[0-9]", text):
        raise UsageError(f"{path}: {text!r} is not a CPython version; wake builds with "
                         "Debian's CPython, so give one like 3.13")
    return _request(text, path.name, line_of(2))


def runtime_txt(path: Path) -> Request | None:
    text = _first_line(path)
    if text is None:
        return None
    version = text.removeprefix("python-")
    return _request(version, path.name, line_of(2))


def requires_python(path: Path) -> Request | None:
    data = _toml(path)
    value = (data.get("project") or {}).get("requires-python")
    if value is None:
        poetry = ((data.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}
        value = poetry.get("python") if isinstance(poetry, dict) else None
        if isinstance(value, str):
            return _request(value, f"{path.name} (tool.poetry.dependencies.python)",
                            _poetry_constraint)
        return None
    if not isinstance(value, str):
        raise UsageError(f"{path}: project.requires-python must be a string like \">=3.11\"")
    return _request(value, f"{path.name} (requires-python)", pep440)


def _poetry_constraint(text: str) -> Callable[[str], bool]:
    """Poetry's "^3.11" / "~3.11" / "3.11.*" / ">=3.11,<4" as PEP 440."""
    parts = []
    for item in re.split(r"\s*,\s*|\s+(?=[<>=!^~])", text.strip()):
        if item.startswith("^"):
            version = numbers(item[1:])
            upper = (version[0] + 1,) if version[0] else (0, version[1] + 1)
            parts += [f">={'.'.join(map(str, version))}", f"<{'.'.join(map(str, upper))}"]
        elif item.startswith("~") and not item.startswith("~="):
            version = numbers(item[1:])
            upper = (version[0], version[1] + 1) if len(version) > 1 else (version[0] + 1,)
            parts += [f">={'.'.join(map(str, version))}", f"<{'.'.join(map(str, upper))}"]
        elif item and item[0].isdigit() and "*" not in item:
            parts.append(f"=={item}.*" if item.count(".") < 2 else f"=={item}")
        elif item:
            parts.append(item if item[0] in "<>=!~" else f"=={item}")
    return pep440(",".join(parts))


def pipfile(path: Path) -> Request | None:
    requires = _toml(path).get("requires") or {}
    for key in ("python_full_version", "python_version"):
        if isinstance(requires.get(key), str):
            return _request(requires[key], f"{path.name} (requires.{key})", line_of(2))
    return None


def nvmrc(path: Path) -> Request | None:
    text = _first_line(path)
    if text is None:
        return None
    if text in ("node", "stable") or text.startswith("lts/"):
        return Request(text, path.name, lambda full: True)  # the newest offered
    return _request(text, path.name, line_of(1))


def engines_node(path: Path) -> Request | None:
    try:
        data = json.loads(files.read_text(path))
    except ValueError:
        return None  # not ours to judge: npm reports a broken package.json in the build
    engines = data.get("engines") if isinstance(data, dict) else None
    node = engines.get("node") if isinstance(engines, dict) else None
    if node is None:
        return None
    if not isinstance(node, str):
        raise UsageError(f"{path}: engines.node must be a string like \">=20\"")
    return _request(node, f"{path.name} (engines.node)", npm_range)


def ruby_version_file(path: Path) -> Request | None:
    text = _first_line(path)
    if text is None:
        return None
    return _request(text.removeprefix("ruby-"), path.name, line_of(2))


def gemfile_ruby(path: Path) -> Request | None:
    match = re.search(r"""^\s*ruby\s+['"]([^'"]+)['"]""", files.read_text(path), re.MULTILINE)
    if not match:
        return None
    return _request(match[1], f"{path.name} (ruby)", gem_requirement)


def go_mod(path: Path) -> Request | None:
    match = re.search(r"^go\s+([0-9][0-9.]*)\s*$", files.read_text(path), re.MULTILINE)
    if not match:
        return None
    # The go line is the oldest toolchain that can build the module.
    return _request(match[1], f"{path.name} (go)", at_least)


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(files.read_text(path))
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


# The files platform.toml's `version_files` may name, each with its reader.
READERS: dict[str, Reader] = {
    ".python-version": python_version_file,
    "runtime.txt": runtime_txt,
    "Pipfile": pipfile,
    "pyproject.toml": requires_python,
    ".nvmrc": nvmrc,
    ".node-version": nvmrc,
    "package.json": engines_node,
    ".ruby-version": ruby_version_file,
    "Gemfile": gemfile_ruby,
    "go.mod": go_mod,
}


def requested(app_root: Path, version_files: tuple[str, ...]) -> Request | None:
    """The first of `version_files` in the app's folder that asks for a version."""
    for name in version_files:
        path = app_root / name
        if not path.is_file():
            continue
        try:
            found = READERS[name](path)
        except FileError as exc:
            raise UsageError(f"{path}: cannot read: {exc.reason}") from None
        if found is not None:
            return found
    return None


def choose(offered: tuple[Version, ...], request: Request | None, where: str = "") -> Version:
    """The version an app gets: the default when nothing is asked or it satisfies the
    request, else the newest that does."""
    default = next((v for v in offered if v.default), offered[0])
    if request is None:
        return default
    fits = [v for v in offered if request.accepts(v.full)]
    if not fits:
        raise UsageError(f"{where}{request.source} asks for version {request.text!r}, which no "
                         f"offered version satisfies; offered: "
                         f"{', '.join(v.describe() for v in offered)}. Ask for one of "
                         "those, or add a version (docs/platforms.md, \"Versions\")")
    if default in fits:
        return default
    return max(fits, key=lambda v: numbers(v.full))


def by_name(offered: tuple[Version, ...], wanted: str, where: str) -> Version:
    """`python@3.13` in a manifest: a version by its name (or a release line of it)."""
    for version in offered:
        if version.name == wanted:
            return version
    accepts = line_of(3)(wanted) if numbers(wanted) else None
    fits = [v for v in offered if accepts and accepts(v.full)]
    if fits:
        return max(fits, key=lambda v: numbers(v.full))
    raise UsageError(f"{where}: no version {wanted!r}; offered: "
                     f"{', '.join(v.describe() for v in offered)}")
