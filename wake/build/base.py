"""`wake base bootstrap`: make the base image with debootstrap, for engines that cannot pull."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import WakeError
from .versions import DEFAULT_SUITE, suite_for

DEB822_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LEGACY_SOURCES = Path("/etc/apt/sources.list")
# What `bootstrap` makes, as the label wake.base.version records it. Raise it whenever the
# image it makes changes: `wake base bootstrap` then makes a base of an older version again.
#   1: debootstrap minbase, archives and lists emptied
#   2: + Debian's docker-clean apt config, no /var/cache/apt/*.bin
#   3: + slim: no docs (copyright files aside), man pages, info or locales, now or later
BASE_VERSION = 3
VERSION_LABEL = "wake.base.version"
# As Debian's official images have it (debuerreotype): apt keeps no downloaded packages
# and no package caches, so an `apt-get install` step leaves nothing behind in its layer.
DOCKER_CLEAN = """\
# Written by wake base bootstrap, as in Debian's official images: no downloaded
# packages or package caches stay behind after apt-get install or update.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb \
/var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb \
/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };

Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
# As debuerreotype's slimify makes Debian's -slim images: dpkg leaves documentation, man
# pages and translations out of every package installed later, and they go from the base
# now (about 45 MB of a 117 MB minbase). Copyright files stay, as licences ask.
SLIM_EXCLUDE = ("/usr/share/doc/*", "/usr/share/groff/*", "/usr/share/info/*",
                "/usr/share/linda/*", "/usr/share/lintian/overrides/*", "/usr/share/locale/*",
                "/usr/share/man/*")
SLIM_INCLUDE = ("/usr/share/doc/*/copyright",)
DPKG_SLIM = ("# Written by wake base bootstrap, as in Debian's -slim images: packages "
             "installed later\n# leave out documentation, man pages and translations.\n"
             + "".join(f"path-exclude {p}\n" for p in SLIM_EXCLUDE)
             + "".join(f"path-include {p}\n" for p in SLIM_INCLUDE))
# What apt leaves that an image should not carry (globs under the root filesystem).
LEFTOVERS = ("var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
             "var/cache/apt/archives/partial/*", "var/lib/apt/lists/*")


@dataclass(frozen=True)
class BootstrapResult:
    image: str
    image_id: str
    created: bool
    mirror: str | None = None
    suite: str | None = None
    replaced: str | None = None  # the id of an outdated base image this one replaced

    def __str__(self) -> str:
        if not self.created:
            return (f"base image {self.image} is already present ({self.image_id[:19]}); "
                    "nothing to do")
        made = (f"made base image {self.image} ({self.image_id[:19]}) with debootstrap "
                f"{self.suite} from {self.mirror}")
        if self.replaced and self.replaced != self.image_id:
            made += (f"; it replaces {self.replaced[:19]}, so every stage's key changes and "
                     "stages build again once (`wake prune` then removes the old images)")
        return made


def outdated(attrs: dict[str, Any]) -> str | None:
    """Why an existing base image should be made again, or None to keep it. Only images
    `bootstrap` made are judged: a base pulled from a registry is the registry's business."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    if labels.get("wake.base") != "debootstrap":
        return None
    text = str(labels.get(VERSION_LABEL, "1"))
    version = int(text) if text.isdigit() else 1
    if version >= BASE_VERSION:
        return None
    return (f"was made by an older wake (base version {version}, now {BASE_VERSION}: "
            "it keeps apt caches or documentation)")


def clean_rootfs(rootfs: Path) -> None:
    """Install the docker-clean apt config and dpkg's slim excludes, and remove apt's
    leftovers and what the excludes name from a root filesystem."""
    config = rootfs / "etc/apt/apt.conf.d/docker-clean"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(DOCKER_CLEAN)
    excludes = rootfs / "etc/dpkg/dpkg.cfg.d/docker"
    excludes.parent.mkdir(parents=True, exist_ok=True)
    excludes.write_text(DPKG_SLIM)
    keep = {path for pattern in SLIM_INCLUDE for path in rootfs.glob(pattern.lstrip("/"))}
    for pattern in SLIM_EXCLUDE:
        for found in rootfs.glob(pattern.lstrip("/")):
            # Deepest first, so a folder is looked at after what it held.
            for path in sorted([found, *found.rglob("*")] if found.is_dir() else [found],
                               key=lambda p: len(p.parts), reverse=True):
                if path.is_dir() and not path.is_symlink():
                    if not any(path.iterdir()):
                        path.rmdir()
                elif path not in keep:
                    path.unlink()
    for pattern in LEFTOVERS:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def machine_mirror(sources: Path = DEB822_SOURCES, legacy: Path = LEGACY_SOURCES,
                   suite: str = DEFAULT_SUITE) -> str:
    """The Debian mirror this machine's apt uses for `suite` (never a hard-coded host)."""
    if sources.is_file():
        for stanza in re.split(r"\n\s*\n", sources.read_text()):
            fields = dict(
                (m[1].lower(), m[2].strip())
                for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE))
            suites = fields.get("suites", "").split()
            enabled = fields.get("enabled", "yes").lower() not in ("no", "false", "0")
            if fields.get("uris") and suite in suites and enabled:
                return str(fields["uris"].split()[0])
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            # deb [options] URI SUITE COMPONENTS...; options may hold spaces.
            words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                return words[1]
    raise WakeError(f"cannot find a Debian mirror for {suite} in {sources} or {legacy}; "
                    "pass --mirror URL")


def mirror_for(suite: str) -> str:
    """The machine's mirror for `suite`; for a suite the machine does not use itself (a
    bookworm machine making a trixie base), the mirror of its own suite: a Debian mirror
    serves every suite."""
    try:
        return machine_mirror(suite=suite)
    except WakeError:
        own = _own_suite()
        if own == suite:
            raise
        return machine_mirror(suite=own)


def _own_suite() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return DEFAULT_SUITE
    found = re.search(r"^VERSION_CODENAME=(\S+)$", text, re.MULTILINE)
    return found[1].strip('"') if found else DEFAULT_SUITE


def bootstrap(engine: Engine, image: str, mirror: str | None = None,
              suite: str | None = None, force: bool = False,
              say: Callable[[str], None] = print) -> BootstrapResult:
    """Make `image` from debootstrap's minbase variant unless it already exists (made by
    this version of `bootstrap`, or not by wake at all)."""
    existing = engine.inspect(image)
    if existing is not None and not force:
        why = outdated(existing)
        if why is None:
            return BootstrapResult(image=image, image_id=str(existing["Id"]), created=False)
        say(f"base image {image} {why}; making it again")
    suite = suite or suite_for(image)
    mirror = mirror or mirror_for(suite)
    if shutil.which("debootstrap") is None:
        raise WakeError("debootstrap is not installed; apt-get install debootstrap "
                        "(scripts/ensure-env.sh does)")
    if os.geteuid() != 0:
        raise WakeError("debootstrap needs root; run `sudo wake base bootstrap`")
    # /var/tmp: debootstrap needs a filesystem without noexec/nodev.
    workdir = Path(tempfile.mkdtemp(prefix="wake-base-", dir="/var/tmp"))
    rootfs = workdir / "rootfs"
    try:
        say(f"debootstrap --variant=minbase {suite} from {mirror} (about 30 s)")
        _debootstrap(suite, rootfs, mirror, say)
        # Leave apt's downloaded packages, caches and lists out of the image, as slim
        # images do, and keep them out of every image built on it.
        clean_rootfs(rootfs)
        say(f"importing {rootfs} as {image}")
        image_id = _import(engine, rootfs, image, mirror, suite)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return BootstrapResult(image=image, image_id=image_id, created=True, mirror=mirror,
                           suite=suite, replaced=str(existing["Id"]) if existing else None)


def _debootstrap(suite: str, rootfs: Path, mirror: str, say: Callable[[str], None]) -> None:
    process = subprocess.Popen(
        ["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tail: list[str] = []
    phases: set[str] = set()
    for line in process.stdout:
        tail = (tail + [line.rstrip()])[-30:]
        # Print each phase once ("I: Retrieving ...", "I: Unpacking ...") as progress;
        # debootstrap prints a line per package otherwise.
        words = line.split()
        if len(words) >= 2 and words[0] in ("I:", "W:", "E:") and words[1] not in phases:
            phases.add(words[1])
            say(f"  {line.strip()}")
    if process.wait() != 0:
        raise WakeError("debootstrap failed:\n" + "\n".join(f"    {t}" for t in tail))


def _import(engine: Engine, rootfs: Path, image: str, mirror: str, suite: str) -> str:
    changes = [
        'CMD ["bash"]',
        "ENV LANG=C.UTF-8",
        f"LABEL wake.base=debootstrap wake.base.suite={suite} wake.base.mirror={mirror} "
        f"{VERSION_LABEL}={BASE_VERSION}",
    ]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout is not None
    engine.import_tar(tar.stdout, image, changes)
    if tar.wait() != 0:
        raise WakeError(f"tar of {rootfs} failed")
    made = engine.inspect(image)
    if made is None:
        raise WakeError(f"docker import finished but {image} is not in the engine")
    return str(made["Id"])
