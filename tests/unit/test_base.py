"""Unit tests for wake.base without Docker: the machine's Debian mirror and suites of tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# --- what bootstrap makes: docker-clean, no leftovers, a version it can judge ---------


def wake_base(version: str | None) -> dict[str, Any]:
    labels = {"wake.base": "debootstrap", "wake.base.suite": "bookworm"}
    if version is not None:
        labels[base.VERSION_LABEL] = version
    return {"Id": "sha256:" + "a" * 64, "Config": {"Labels": labels}}


def test_a_base_of_the_current_version_is_kept() -> None:
    assert base.outdated(wake_base(str(base.BASE_VERSION))) is None
    assert base.outdated(wake_base(str(base.BASE_VERSION + 1))) is None


@pytest.mark.parametrize("version", [None, "1", "x"])
def test_an_older_wake_base_is_outdated(version: str | None) -> None:
    why = base.outdated(wake_base(version))
    assert why is not None and "older wake" in why and "apt caches" in why


def test_a_base_wake_did_not_make_is_never_outdated() -> None:
    assert base.outdated({"Id": "sha256:b", "Config": {"Labels": None}}) is None
    assert base.outdated({"Id": "sha256:b", "Config": {"Labels": {"maintainer": "x"}}}) is None


def test_clean_rootfs_installs_docker_clean_and_removes_leftovers(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    for name in ("var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin",
                 "var/cache/apt/archives/libc6_2.36_amd64.deb",
                 "var/cache/apt/archives/partial/x.deb",
                 "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
                 "var/lib/apt/lists/partial/y", "var/lib/apt/extended_states",
                 "var/cache/apt/archives/lock", "etc/apt/apt.conf.d/01autoremove",
                 "usr/share/doc/bash/copyright", "usr/share/doc/bash/README.gz",
                 "usr/share/man/man1/bash.1.gz", "usr/share/locale/de/LC_MESSAGES/bash.mo",
                 "usr/share/info/bash.info.gz", "usr/share/zoneinfo/UTC"):
        (rootfs / name).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / name).write_text("x")
    base.clean_rootfs(rootfs)
    left = sorted(p.relative_to(rootfs).as_posix() for p in rootfs.rglob("*") if p.is_file())
    assert left == ["etc/apt/apt.conf.d/01autoremove", "etc/apt/apt.conf.d/docker-clean",
                    "etc/dpkg/dpkg.cfg.d/docker", "usr/share/doc/bash/copyright",
                    "usr/share/zoneinfo/UTC", "var/cache/apt/archives/lock",
                    "var/lib/apt/extended_states"]
    slim = (rootfs / "etc/dpkg/dpkg.cfg.d/docker").read_text()
    assert "path-exclude /usr/share/man/*\n" in slim
    assert "path-include /usr/share/doc/*/copyright\n" in slim
    assert not (rootfs / "usr/share/man/man1").exists()  # emptied folders go too
    config = (rootfs / "etc/apt/apt.conf.d/docker-clean").read_text()
    for line in ('Dir::Cache::pkgcache "";', 'Dir::Cache::srcpkgcache "";',
                 "DPkg::Post-Invoke {", "APT::Update::Post-Invoke {",
                 "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb "
                 "/var/cache/apt/*.bin || true"):
        assert line in config


class FakeEngine:
    def __init__(self, attrs: dict[str, Any] | None) -> None:
        self.attrs = attrs
        self.imported: list[list[str]] = []

    def inspect(self, ref: str) -> dict[str, Any] | None:
        return self.attrs

    def import_tar(self, stream: Any, image: str, changes: list[str]) -> None:
        stream.read()
        self.imported.append(changes)
        self.attrs = {"Id": "sha256:" + "c" * 64, "Config": {"Labels": {}}}


@pytest.fixture
def fake_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    def debootstrap(suite: str, rootfs: Path, mirror: str, say: Any) -> None:
        (rootfs / "var/cache/apt").mkdir(parents=True)
        (rootfs / "var/cache/apt/pkgcache.bin").write_text("x")

    monkeypatch.setattr(base, "_debootstrap", debootstrap)
    monkeypatch.setattr(base.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(base.os, "geteuid", lambda: 0)


def test_bootstrap_keeps_a_current_base(fake_debootstrap: None) -> None:
    engine = FakeEngine(wake_base(str(base.BASE_VERSION)))
    result = base.bootstrap(engine, "debian:bookworm-slim", mirror="http://m",  # type: ignore[arg-type]
                            say=lambda line: None)
    assert not result.created and engine.imported == []


def test_bootstrap_makes_an_outdated_base_again_and_says_so(fake_debootstrap: None) -> None:
    engine = FakeEngine(wake_base(None))
    said: list[str] = []
    result = base.bootstrap(engine, "debian:bookworm-slim", mirror="http://m",  # type: ignore[arg-type]
                            say=said.append)
    assert result.created and result.replaced == "sha256:" + "a" * 64
    assert any("older wake" in line for line in said)
    assert f"{base.VERSION_LABEL}={base.BASE_VERSION}" in " ".join(engine.imported[0])
    assert "every stage's key changes" in str(result)
