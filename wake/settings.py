"""wake's settings: defaults, then `$WAKE_HOME/config.toml`, then environment variables.

| setting     | config.toml key | environment        | default               |
|-------------|-----------------|--------------------|-----------------------|
| base image  | base_image      | WAKE_BASE_IMAGE    | debian:bookworm-slim  |
| CA bundle   | ca_bundle       | WAKE_CA_BUNDLE     | (none)                |
| registry    | registry        | WAKE_REGISTRY      | (none)                |

Two more only in config.toml: a table `[base_images]` naming the base image of each Debian
suite other than the base image's own (`trixie = "debian:trixie-slim"`, the default name),
and `[[versions]]` tables adding language versions to platforms (docs/platforms.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import files
from .errors import FileError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
KEYS = {"base_image": "WAKE_BASE_IMAGE", "ca_bundle": "WAKE_CA_BUNDLE",
        "registry": "WAKE_REGISTRY"}


def wake_home() -> Path:
    return Path(os.environ.get("WAKE_HOME") or Path.home() / ".wake")


@dataclass(frozen=True)
class Settings:
    base_image: str = DEFAULT_BASE_IMAGE
    ca_bundle: Path | None = None
    registry: str | None = None
    base_images: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    versions: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    # Where each value came from, for `wake config`.
    origins: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def ca_bundle_bytes(self) -> bytes | None:
        if self.ca_bundle is None:
            return None
        return files.read_bytes(self.ca_bundle)

    def base_image_for(self, suite: str) -> str:
        """The base image of a Debian suite: [base_images], else base_image when it is that
        suite's, else debian:<suite>-slim (what `wake base bootstrap --suite` makes)."""
        from .build.versions import suite_for

        if suite in self.base_images:
            return self.base_images[suite]
        if suite_for(self.base_image) == suite:
            return self.base_image
        return f"debian:{suite}-slim"

    def describe(self) -> str:
        lines = []
        for key in KEYS:
            value = getattr(self, key)
            origin = self.origins.get(key, "default")
            lines.append(f"{key:<11} {value if value is not None else '(not set)'}  [{origin}]")
        return "\n".join(lines)


def _check_ca_bundle(value: str, where: str) -> Path:
    fix = "point it at a PEM file such as /etc/ssl/certs/ca-certificates.crt"
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # ~nosuchuser/...
        raise UsageError(f"{where}: CA bundle {value!r}: no user "
                         f"{value.split('/')[0][1:]!r} to find the home folder of; {fix}"
                         ) from None
    try:
        head = files.read_bytes(path)
    except FileError as exc:
        raise FileError(f"{where}: cannot read CA bundle {exc.path}", f"{exc.reason}; {fix}",
                        exc.exit_code) from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise UsageError(f"{where}: {path} holds no PEM certificate "
                         "(no '-----BEGIN CERTIFICATE-----'); give a PEM CA bundle")
    return path.resolve()


def check_home() -> Path:
    """wake_home(), refused (UsageError) when something other than a folder is there."""
    home = wake_home()
    if os.path.lexists(home) and not home.is_dir():
        raise UsageError(files.home_not_a_folder(home))
    return home


def load(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from config.toml, the environment, then explicit overrides (CLI flags)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    extra_images: dict[str, str] = {}
    extra_versions: tuple[dict[str, Any], ...] = ()
    config = check_home() / "config.toml"
    raw = files.read_if_present(config)
    if raw is not None:
        try:
            data = tomllib.loads(files.decode(config, raw))
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{config}: not valid TOML: {exc}") from None
        except (ValueError, RecursionError):  # a number too long, absurd nesting
            raise UsageError(f"{config}: not valid TOML: a value too long or too deeply "
                             "nested to read") from None
        for key, value in data.items():
            if key == "base_images":
                if not isinstance(value, dict) or not all(
                        isinstance(v, str) and v for v in value.values()):
                    raise UsageError(f"{config}: [base_images] must map suite names to "
                                     'image names, e.g. trixie = "debian:trixie-slim"')
                extra_images = dict(value)
                continue
            if key == "versions":
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    raise UsageError(f"{config}: versions must be [[versions]] tables "
                                     "(docs/platforms.md)")
                extra_versions = tuple(value)
                continue
            if key not in KEYS:
                raise UsageError(f"{config}: unknown setting {key[:80]!r}; "
                                 f"known: {', '.join(KEYS)}")
            if not isinstance(value, str):
                raise UsageError(f"{config}: {key} must be a string")
            values[key], origins[key] = value, str(config)
    for key, var in KEYS.items():
        if os.environ.get(var):
            values[key], origins[key] = os.environ[var], f"${var}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key], origins[key] = value, "command line"
    ca = values.get("ca_bundle")
    return Settings(
        base_image=values.get("base_image", DEFAULT_BASE_IMAGE),
        ca_bundle=_check_ca_bundle(ca, origins["ca_bundle"]) if ca else None,
        registry=values.get("registry"),
        base_images=extra_images,
        versions=extra_versions,
        origins=origins,
    )
