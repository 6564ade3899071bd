"""Unit tests for wake.base without Docker: the machine's Debian mirror and suites of tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from wake.build import base
from wake.errors import UsageError, WakeError

DEB822 = """\
# Written by the installer.
Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian http://fallback.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

LEGACY = """\
# deb http://commented.example.org/debian bookworm main
deb-src http://source.example.org/debian bookworm main
deb http://security.example.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/etc/k.gpg] http://legacy.example.org/debian bookworm main
deb http://old.example.org/debian bullseye main
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_deb822_picks_the_stanza_of_the_suite(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources", DEB822)
    assert base.machine_mirror(sources, tmp_path / "none") == "http://mirror.example.org/debian"


def test_deb822_other_suites(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources", DEB822)
    none = tmp_path / "none"
    assert base.machine_mirror(sources, none, suite="bookworm-security") == (
        "http://security.example.org/debian-security")
    assert base.machine_mirror(sources, none, suite="bookworm-updates") == (
        "http://mirror.example.org/debian")


def test_deb822_takes_precedence_over_legacy(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources", DEB822)
    legacy = write(tmp_path, "sources.list", LEGACY)
    assert base.machine_mirror(sources, legacy) == "http://mirror.example.org/debian"


def test_legacy_sources_list(tmp_path: Path) -> None:
    legacy = write(tmp_path, "sources.list", LEGACY)
    none = tmp_path / "none"
    assert base.machine_mirror(none, legacy) == "http://legacy.example.org/debian"
    assert base.machine_mirror(none, legacy, suite="bullseye") == "http://old.example.org/debian"


def test_legacy_is_used_when_deb822_lacks_the_suite(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources", DEB822)
    legacy = write(tmp_path, "sources.list", LEGACY)
    assert base.machine_mirror(sources, legacy, suite="bullseye") == (
        "http://old.example.org/debian")


def test_no_mirror_found(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources", DEB822)
    legacy = write(tmp_path, "sources.list", LEGACY)
    with pytest.raises(WakeError) as info:
        base.machine_mirror(sources, legacy, suite="trixie")
    message = str(info.value)
    assert not isinstance(info.value, UsageError)
    assert "trixie" in message
    assert str(sources) in message and str(legacy) in message
    assert "--mirror" in message


def test_no_sources_files_at_all(tmp_path: Path) -> None:
    with pytest.raises(WakeError, match="cannot find a Debian mirror for bookworm"):
        base.machine_mirror(tmp_path / "a.sources", tmp_path / "sources.list")


def test_legacy_options_with_spaces(tmp_path: Path) -> None:
    legacy = write(tmp_path, "sources.list",
                   "deb [ arch=amd64 ] http://spaced.example.org/debian bookworm main\n")
    assert base.machine_mirror(tmp_path / "none", legacy) == "http://spaced.example.org/debian"


def test_deb822_disabled_stanza_is_skipped(tmp_path: Path) -> None:
    sources = write(tmp_path, "debian.sources",
                    "Enabled: no\nTypes: deb\nURIs: http://disabled.example.org/debian\n"
                    "Suites: bookworm\n\n"
                    "Types: deb\nURIs: http://enabled.example.org/debian\nSuites: bookworm\n")
    assert base.machine_mirror(sources, tmp_path / "none") == "http://enabled.example.org/debian"


@pytest.mark.parametrize("image, suite", [
    ("debian:bookworm-slim", "bookworm"),
    ("debian:bookworm", "bookworm"),
    ("myreg:5000/debian:bullseye", "bullseye"),
    ("myreg:5000/library/debian:trixie-20240110-slim", "trixie"),
    ("debian:sid", "sid"),
    ("debian:buster-slim", "buster"),
    ("busybox", "bookworm"),
    ("myreg:5000/debian", "bookworm"),   # the port is not a tag
    ("debian:bullseyeish", "bookworm"),  # not a suite name: the default
    ("debian:latest", "bookworm"),
])
def test_suite_for(image: str, suite: str) -> None:
    assert base.suite_for(image) == suite


def test_suite_for_does_not_mistake_a_port_for_a_suite() -> None:
    assert base.suite_for("bullseye:5000/debian") == "bookworm"


def test_suite_for_numeric_tags() -> None:
    assert base.suite_for("debian:11-slim") == "bullseye"
